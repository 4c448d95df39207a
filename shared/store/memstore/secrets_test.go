package memstore_test

import (
	"testing"

	"github.com/winback/winback/shared/store/memstore"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.SecretsStore = (*memstore.Store)(nil)

func TestSecretsContract(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretsStore { return memstore.New() })
}
