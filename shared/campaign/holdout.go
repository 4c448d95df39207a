package campaign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// HoldoutDraw is the customer's uniform draw in [0, 1) for a campaign:
// the first 8 bytes of HMAC-SHA256(key = campaign id, message = customer
// id), as a big-endian integer, its top 53 bits divided by 2^53. It
// depends on nothing but the two ids, so a rerun draws the same, and
// draws of different campaigns are independent.
func HoldoutDraw(customerID, campaignID string) float64 {
	mac := hmac.New(sha256.New, []byte(campaignID))
	mac.Write([]byte(customerID))
	sum := mac.Sum(nil)
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// InHoldout reports whether a selected customer is held out of a
// campaign: recorded, never mailed. It is HoldoutDraw(customer, campaign)
// < share, so each customer is held out with probability share
// (default 0.10) independently of every other, in a shop of any size
// (the expected holdout is share × selected; a shop selecting fewer than
// about 1/share customers may get none). share ≤ 0 holds out nobody,
// share ≥ 1 everybody.
func InHoldout(customerID, campaignID string, share float64) bool {
	if !(share > 0) {
		return false
	}
	return HoldoutDraw(customerID, campaignID) < share
}
