// Same describe and title as in beta.test.js: passes here, fails there. Two different tests.
const { emptyOrNull } = require("./utils");

describe("utils", () => {
  test("handles empty input", () => {
    expect(emptyOrNull("")).toBeNull();
  });
  test("keeps text", () => {
    expect(emptyOrNull("a")).toBe("a");
  });
  test.skip("is skipped on purpose", () => {
    expect(true).toBe(false);
  });
  test.todo("handles unicode");
});
