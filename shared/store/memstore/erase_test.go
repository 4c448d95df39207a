package memstore_test

import (
	"testing"

	"github.com/winback/winback/shared/store/memstore"
	"github.com/winback/winback/shared/store/storetest"
)

func TestEraseContract(t *testing.T) {
	storetest.RunErase(t, func(t *testing.T) storetest.EraseStore { return memstore.New() })
}
