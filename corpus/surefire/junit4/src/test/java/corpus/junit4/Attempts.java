// Counts the attempts of each test: Surefire's JUnit 4 provider reruns a failed test in the same JVM, so a
// static counter tells the first attempt from the reruns.
package corpus.junit4;

import java.util.HashMap;
import java.util.Map;

final class Attempts {
    private static final Map<String, Integer> SEEN = new HashMap<>();

    private Attempts() {}

    static synchronized int next(String test) {
        int n = SEEN.getOrDefault(test, 0) + 1;
        SEEN.put(test, n);
        return n;
    }
}
