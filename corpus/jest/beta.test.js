// Same describe and title as in alpha.test.js: this one fails (it expects the wrong thing on purpose).
const { emptyOrNull } = require("./utils");

describe("utils", () => {
  test("handles empty input", () => {
    expect(emptyOrNull("")).toBe("");
  });
  test("keeps text", () => {
    expect(emptyOrNull("b")).toBe("b");
  });
  test("same title twice in one file", () => {
    expect(1).toBe(1);
  });
  test("same title twice in one file", () => {
    expect(1).toBe(2);
  });
});
