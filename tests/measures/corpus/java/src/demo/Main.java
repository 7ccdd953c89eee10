package demo;

/** Exercises part of Cart, so the coverage report has covered and missed lines and branches. */
public class Main {
    public static void main(String[] args) {
        Cart cart = new Cart();
        cart.add("apple", 2);
        cart.add("pear", 1);
        if (cart.count() != 3) {
            throw new AssertionError("count");
        }
        System.out.println(cart.price(2.0, null) + " " + cart.price(2.0, "HALF"));
    }
}
