const assert = require("assert");

let calls = 0;

describe("parser", function () {
  it("reads a number", function () {
    assert.strictEqual(Number("4"), 5, "fails on purpose");
  });
  it("passes on its retry", function () {
    this.retries(2);
    calls += 1;
    assert.ok(calls > 1, "first attempt fails");
  });
  it("throws", function () {
    throw new TypeError("an error, not an assertion");
  });
});
