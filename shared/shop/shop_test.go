package shop

import (
	"errors"
	"strings"
	"testing"
)

func TestCredentialsRoundTrip(t *testing.T) {
	c := NewCredentials()
	keyID, secret, err := SplitKey(c.APIKey)
	if err != nil || keyID != c.KeyID {
		t.Fatalf("SplitKey(%q) = %q, %v", c.APIKey, keyID, err)
	}
	if !VerifySecret(secret, c.KeyHash) {
		t.Fatal("a fresh key does not verify against its own hash")
	}
	if VerifySecret(secret+"x", c.KeyHash) || VerifySecret(secret, HashSecret("other")) {
		t.Fatal("a wrong secret verifies")
	}
	if strings.Contains(c.KeyHash, secret) || c.WebhookSecret == secret {
		t.Fatal("secrets leak into the stored form")
	}
	if d := NewCredentials(); d.APIKey == c.APIKey || d.WebhookSecret == c.WebhookSecret {
		t.Fatal("credentials repeat")
	}
}

func TestSplitKeyRejectsMalformedKeys(t *testing.T) {
	good := NewCredentials().APIKey
	for _, k := range []string{"", "wbk_", "sk_live_abc", "wbk_short_" + strings.Repeat("s", 40),
		"wbk_" + strings.Repeat("k", 16) + "_tooshort", "wbk_" + strings.Repeat("k", 16) + strings.Repeat("s", 40),
		"WBK" + good[3:], "wbk_" + strings.Repeat("k", 16) + "_" + strings.Repeat("s", 200)} {
		if _, _, err := SplitKey(k); !errors.Is(err, ErrBadKey) {
			t.Errorf("SplitKey(%q) = %v, want ErrBadKey", k, err)
		}
	}
}

func TestShardIsStableAndSpread(t *testing.T) {
	s := Shop{Shards: 16}
	counts := make([]int, 16)
	for i := range 16000 {
		id := "customer-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i)
		n := s.Shard(id)
		if n != s.Shard(id) || n < 0 || n >= 16 {
			t.Fatalf("Shard(%q) = %d, unstable or out of range", id, n)
		}
		counts[n]++
	}
	for n, c := range counts {
		if c < 800 || c > 1200 { // 1000 expected per shard
			t.Errorf("shard %d holds %d of 16000 customers", n, c)
		}
	}
	if (Shop{}).Shard("a") >= DefaultShards {
		t.Error("an unset shard count must mean DefaultShards")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestLocation(t *testing.T) {
	if got := (Shop{Timezone: "Europe/Berlin"}).Location().String(); got != "Europe/Berlin" {
		t.Errorf("Location() = %s", got)
	}
	if (Shop{}).Location().String() != "UTC" || (Shop{Timezone: "Mars/Olympus"}).Location().String() != "UTC" {
		t.Error("an unset or unknown zone must mean UTC")
	}
}
