package memstore_test

import (
	"testing"

	"github.com/winback/winback/shared/store/memstore"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.CampaignStore = (*memstore.Store)(nil)

func TestCampaignContract(t *testing.T) {
	storetest.RunCampaigns(t, func(t *testing.T) storetest.CampaignStore { return memstore.New() })
}
