package memstore_test

import (
	"testing"

	"github.com/winback/winback/shared/store/memstore"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.APIKeyStore = (*memstore.Store)(nil)

func TestAPIKeyContract(t *testing.T) {
	storetest.RunAPIKeys(t, func(t *testing.T) storetest.APIKeyStore { return memstore.New() })
}
