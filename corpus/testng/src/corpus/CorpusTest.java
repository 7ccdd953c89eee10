// A purpose-written TestNG suite for the JUnit corpus (scripts/corpus.sh compiles and runs it with Debian's
// TestNG; no build tool). It covers a data provider (several invocations of one method, one failing), a retry
// analyzer (a test that fails once and passes on its retry, one that fails on every attempt), a skip and a pass.
package corpus;

import java.util.HashMap;
import java.util.Map;
import org.testng.Assert;
import org.testng.IRetryAnalyzer;
import org.testng.ITestResult;
import org.testng.SkipException;
import org.testng.annotations.AfterSuite;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

public class CorpusTest {
    private static final Map<String, Integer> ATTEMPTS = new HashMap<>();

    private static int attempt(String key) {
        int n = ATTEMPTS.getOrDefault(key, 0) + 1;
        ATTEMPTS.put(key, n);
        return n;
    }

    /** How many attempts TestNG retried (it counts them as skips in its own summary line). */
    private static int retried = 0;

    /** Retries a failed test up to twice. */
    public static class RetryTwice implements IRetryAnalyzer {
        private int retries = 0;

        @Override
        public boolean retry(ITestResult result) {
            if (retries++ < 2) {
                retried++;
                return true;
            }
            return false;
        }
    }

    @AfterSuite(alwaysRun = true)
    public void printRetried() {
        System.out.println("Retried attempts: " + retried);
    }

    @DataProvider(name = "numbers")
    public Object[][] numbers() {
        return new Object[][] {{1}, {2}, {3}, {4}};
    }

    @Test(dataProvider = "numbers")
    public void acceptsNumber(int value) {
        Assert.assertNotEquals(value, 3, "three is refused on purpose");
    }

    @Test
    public void passes() {
        Assert.assertEquals(1 + 1, 2);
    }

    @Test
    public void isSkipped() {
        throw new SkipException("not on this platform");
    }

    @Test(retryAnalyzer = RetryTwice.class)
    public void failsOnceThenPasses() {
        Assert.assertTrue(attempt("once") > 1, "first attempt fails");
    }

    @Test(retryAnalyzer = RetryTwice.class)
    public void failsEveryAttempt() {
        attempt("always");
        Assert.fail("fails on every attempt");
    }
}
