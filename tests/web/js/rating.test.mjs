// The satisfaction text beside the closed-loop gauge (panels.js ratingText).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ratingText } from "../../../web/cockpit/panels.js";

test("a mean rating with its count, one decimal", () => {
  assert.equal(ratingText({ mean: 4.5666, count: 12 }), "4.6 (12)");
  assert.equal(ratingText({ mean: 5, count: 1 }), "5.0 (1)");
});

test("no ratings, or nothing loaded, is a dash", () => {
  assert.equal(ratingText({ mean: null, count: 0 }), "–");
  assert.equal(ratingText(undefined), "–");
  assert.equal(ratingText({ mean: 3, count: 0 }), "–");
});
