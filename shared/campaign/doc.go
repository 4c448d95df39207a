// Package campaign holds the pure rules of win-back campaigns: the shop's
// campaign settings, who is selected and for what kind of e-mail (Select),
// how large a discount is worth offering (Offer), the reproducible holdout
// group (InHoldout), coupon codes (NewCoupon), signed unsubscribe tokens
// (SignToken, VerifyToken), campaigns and their recipients' states (the
// records the runner, sender and feedback share), and how a campaign is
// measured: attribution of orders (Attribute) and the uplift with its
// Newcombe interval (Uplift).
//
// It takes values and returns values: no store, no AWS SDK, no clock and
// no randomness of its own (callers pass the time and the random source).
// RULES.md in this directory states every rule with its numbers; the doc
// comments say the same.
package campaign
