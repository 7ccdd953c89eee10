package demo;

import java.util.LinkedHashMap;
import java.util.Map;

/** A tiny cart: the Java code the corpus measures with JaCoCo. */
public class Cart {
    private final Map<String, Integer> items = new LinkedHashMap<>();

    public void add(String name, int quantity) {
        if (quantity <= 0) {
            throw new IllegalArgumentException("quantity must be positive");
        }
        items.merge(name, quantity, Integer::sum);
    }

    public int count() {
        int total = 0;
        for (int q : items.values()) {
            total += q;
        }
        return total;
    }

    public double price(double unit, String code) {
        double total = unit * count();
        if (code == null) {
            return total;
        }
        if (code.equals("HALF")) {
            return total / 2;
        }
        if (code.equals("TEN")) {
            return total * 0.9;
        }
        return total;
    }

    public String describe() {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, Integer> e : items.entrySet()) {
            out.append(e.getKey()).append('=').append(e.getValue()).append(';');
        }
        return out.toString();
    }
}
