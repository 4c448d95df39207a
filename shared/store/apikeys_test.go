package store_test

import (
	"testing"

	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.APIKeyStore = (*store.Store)(nil)

func TestAPIKeyContract(t *testing.T) {
	storetest.RunAPIKeys(t, func(t *testing.T) storetest.APIKeyStore {
		s, _, _ := newStore(t)
		return s
	})
}
