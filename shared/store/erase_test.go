package store_test

import (
	"testing"

	"github.com/winback/winback/shared/store/storetest"
)

func TestEraseContract(t *testing.T) {
	storetest.RunErase(t, func(t *testing.T) storetest.EraseStore {
		s, _, _ := newStore(t)
		return s
	})
}
