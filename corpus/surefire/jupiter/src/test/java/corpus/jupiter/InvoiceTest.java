// JUnit 5: the same method name as CheckoutTest's passing test (failing here), an exception (an error, not a
// failure), a parameterised test with one failing invocation, and an assumption that aborts.
package corpus.jupiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InvoiceTest {
    @Test
    void handlesEmptyCart() {
        assertEquals(0, 1, "an empty cart gets no invoice");
    }

    @Test
    void numberingErrors() {
        throw new IllegalStateException("invoice numbering exhausted");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void acceptsQuantity(int quantity) {
        assertNotEquals(2, quantity, "two is refused on purpose");
    }

    @Test
    void currencyNotSupported() {
        assumeTrue(false, "JPY invoices are not supported");
    }
}
