// JUnit 4 with reruns: a test with the same method name as one in CheckoutTest (it fails here and passes there),
// an exception on every attempt, a failure then exceptions on the reruns, an exception then failures on the
// reruns (Surefire counts both mixed ones as errors), and an assumption that skips.
package corpus.junit4;

import static org.junit.Assert.assertEquals;

import org.junit.Assume;
import org.junit.Test;

public class RefundTest {
    @Test
    public void handlesEmptyCart() {
        assertEquals("nothing to refund on an empty cart", 0, 1);
    }

    @Test
    public void ledgerAlwaysErrors() {
        throw new IllegalStateException("ledger is read-only");
    }

    @Test
    public void failsThenErrors() {
        if (Attempts.next("RefundTest.failsThenErrors") == 1) {
            assertEquals("first attempt: a wrong amount", 5, 4);
        }
        throw new UnsupportedOperationException("reruns: the refund API is gone");
    }

    @Test
    public void errorsThenFails() {
        if (Attempts.next("RefundTest.errorsThenFails") == 1) {
            throw new IllegalArgumentException("first attempt: no such order");
        }
        assertEquals("reruns: a wrong amount", 5, 4);
    }

    @Test
    public void currencyNotSupported() {
        Assume.assumeTrue("JPY refunds are not supported", false);
    }
}
