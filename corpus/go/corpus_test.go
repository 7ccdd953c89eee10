// A purpose-written Go suite for the JUnit corpus (scripts/corpus.sh runs it with gotestsum --rerun-fails).
// Standard library only. CORPUS_STATE names a directory where the flaky test counts its attempts.
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

func attempt(t *testing.T, key string) int {
	dir := os.Getenv("CORPUS_STATE")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, key)
	data, _ := os.ReadFile(path)
	n := len(data) + 1
	if err := os.WriteFile(path, append(data, 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPasses(t *testing.T) {}

func TestSkipped(t *testing.T) { t.Skip("not here") }

func TestFailsOnceThenPasses(t *testing.T) {
	if attempt(t, "once") == 1 {
		t.Fatal("first attempt fails")
	}
}

func TestFailsEveryAttempt(t *testing.T) {
	attempt(t, "always")
	t.Fatal("fails on every attempt")
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   int
	}{{"one", 1}, {"two", 2}, {"three", 3}} {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			if tc.in == 2 {
				t.Errorf("two is not allowed")
			}
		})
	}
}
