// Same describe and titles as b.spec.js: different tests, because they live in different files.
const assert = require("assert");

describe("parser", function () {
  it("reads a number", function () {
    assert.strictEqual(Number("4"), 4);
  });
  it("rejects garbage", function () {
    assert.ok(Number.isNaN(Number("x")));
  });
  it.skip("pending: reads hex");
  it("is written later");
});
