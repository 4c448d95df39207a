package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/store"
)

// The DynamoDB actions the functions' code calls (shared/store). A
// transaction (TransactWriteItems) needs the action of each of its items:
// PutItem, UpdateItem, DeleteItem or ConditionCheckItem.
const (
	actGetItem        = "dynamodb:GetItem"
	actBatchGetItem   = "dynamodb:BatchGetItem"
	actQuery          = "dynamodb:Query"
	actPutItem        = "dynamodb:PutItem"
	actUpdateItem     = "dynamodb:UpdateItem"
	actDeleteItem     = "dynamodb:DeleteItem"
	actBatchWriteItem = "dynamodb:BatchWriteItem"
	actConditionCheck = "dynamodb:ConditionCheckItem"
)

// itemActions are the actions on items whose partition keys IAM checks
// (dynamodb:LeadingKeys): what a deny by partition denies.
var itemActions = []string{actBatchGetItem, actBatchWriteItem, actConditionCheck, actDeleteItem,
	actGetItem, actPutItem, actQuery, actUpdateItem}

// unkeyedActions read or write the table without naming a partition (a
// Scan, PartiQL statements): no dynamodb:LeadingKeys condition can limit
// them, so a role kept from some partitions is denied them outright. No
// function calls them.
var unkeyedActions = []string{"dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:PartiQLSelect",
	"dynamodb:PartiQLUpdate", "dynamodb:Scan"}

// tableGrant allows a function actions on the table, on the partitions
// of the given families only when partitions is not empty
// (ForAllValues:StringLike on dynamodb:LeadingKeys: every partition key
// of the request must match one), and never on the partitions matching
// one of notPartitions, when set (ForAllValues:StringNotLike: no
// partition key of the request may match any). IAM ANDs the two.
//
// Only actions that name their partitions may be limited so: a request
// without partition keys (a Scan) satisfies ForAllValues vacuously.
type tableGrant struct {
	actions       []string
	partitions    []string
	notPartitions []string
}

// allow adds one statement per grant to fn's role, on the table only.
func (d *data) allow(fn awslambda.Function, grants ...tableGrant) {
	for _, g := range grants {
		st := &awsiam.PolicyStatementProps{
			Effect:    awsiam.Effect_ALLOW,
			Actions:   jsii.Strings(g.actions...),
			Resources: jsii.Strings(*d.Table.TableArn()),
		}
		conditions := map[string]any{}
		if len(g.partitions) > 0 {
			conditions["ForAllValues:StringLike"] = map[string]any{"dynamodb:LeadingKeys": g.partitions}
		}
		if len(g.notPartitions) > 0 {
			conditions["ForAllValues:StringNotLike"] = map[string]any{"dynamodb:LeadingKeys": g.notPartitions}
		}
		if len(conditions) > 0 {
			st.Conditions = &conditions
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(st))
	}
}

// deny keeps fn's role from the partitions of the given families, whatever
// else allows it: every item action whose request names one of them
// (ForAnyValue:StringLike on dynamodb:LeadingKeys), and every unkeyed
// action.
func (d *data) deny(fn awslambda.Function, partitions []string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_DENY,
		Actions:   jsii.Strings(itemActions...),
		Resources: jsii.Strings(*d.Table.TableArn()),
		Conditions: &map[string]any{
			"ForAnyValue:StringLike": map[string]any{"dynamodb:LeadingKeys": partitions},
		},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_DENY,
		Actions:   jsii.Strings(unkeyedActions...),
		Resources: jsii.Strings(*d.Table.TableArn()),
	}))
}

// anyShop and notNested, together, are the partitions SHOP#<id> of any id
// without a "#": a shop's own partition (its item and its keys' entries),
// whatever the id looks like. Every other family of a shop's partitions
// has a "#" after the id (store's keys.go).
const (
	anyShop   = "SHOP#*"
	notNested = "SHOP#*#*"
)

// The table access of each function: the actions its code path calls
// (the store methods its handler reaches), on the partitions it touches
// where they are few and stable. A store method a function starts to call
// may need its grant widened here; the functions' tests do not run under
// IAM.
var (
	// ingestAccess: store.Store.APIKey and Shop (GetItem of the key's
	// and the shop's item), PutOrders (BatchGetItem of the group's
	// summaries, orders and webhook id; one transaction of Puts of
	// orders, summaries and the webhook id, and of Deletes of summaries
	// a guest's orders left for an account), on those partitions only:
	// it cannot write a shop, an API key, the shop index, runs, KPI days
	// or the token keys. Campaign data is also denied it by partition
	// (store.CampaignPartitions), whatever a grant here would allow.
	//
	// The shop it reads is any partition SHOP#<id> with no further #
	// (anyShop, notNested), not just store.PartitionShop: the Shopify
	// webhook looks up the ?shop= id it is given (refusing a "#", not
	// other malformed ids), and a malformed id must be found missing
	// (401), not refused by IAM (a 5xx). No other family has such keys.
	ingestAccess = []tableGrant{
		{actions: []string{actGetItem}, partitions: []string{store.PartitionAPIKey, anyShop}, notPartitions: []string{notNested}},
		{actions: []string{actBatchGetItem, actPutItem, actDeleteItem},
			partitions: []string{store.PartitionOrder, store.PartitionCustomers, store.PartitionWebhook}},
	}
	ingestDenied = store.CampaignPartitions()

	// apiAccess: the reading routes (GetItem, Query), erasure
	// (BatchGetItem of the recipients, BatchWriteItem of the customer's
	// items, the summary's conditional DeleteItem, the suppression's
	// PutItem), unsubscribing (the suppression, the recipient's
	// UpdateItem), the shop's salt (UpdateItem) and the token keys
	// (Query, PutItem).
	apiAccess = []tableGrant{{actions: []string{actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem,
		actDeleteItem, actBatchWriteItem}}}

	// plannerAccess: the shop index (Query), each shop (GetItem) and its
	// runs, which it begins (GetItem, PutItem) and marks (UpdateItem).
	plannerAccess = []tableGrant{
		{actions: []string{actGetItem, actQuery}, partitions: []string{store.PartitionShopList, store.PartitionShop, store.PartitionRuns}},
		{actions: []string{actPutItem, actUpdateItem}, partitions: []string{store.PartitionRuns}},
	}

	// workerAccess: the nightly stages (summaries and scores by Query and
	// BatchWriteItem, runs, results, KPI days) and the campaign step
	// (campaigns, recipients with their coupons and contacts in one
	// transaction of Puts, suppressions, the shop's salt).
	workerAccess = []tableGrant{{actions: []string{actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem,
		actBatchWriteItem}}}

	// senderAccess: the shop, its campaign config, campaign and sending
	// stop, the customer's summary, suppressions (GetItem); the recipient
	// and the campaign's status (UpdateItem); the shop's salt
	// (UpdateItem); the token keys (Query, and PutItem of the first one,
	// made on first use: its only PutItem).
	senderAccess = []tableGrant{
		{actions: []string{actGetItem, actQuery, actUpdateItem}},
		{actions: []string{actPutItem}, partitions: []string{store.PartitionConfig}},
	}

	// maileventsAccess: the shop (GetItem) and its salt (UpdateItem), the
	// recipient (GetItem, UpdateItem), the suppression (PutItem), and the
	// safety valve: the campaign's feedback counts and status
	// (UpdateItem), the shop's sending stop (GetItem, PutItem), all in
	// the campaigns partition.
	maileventsAccess = []tableGrant{
		{actions: []string{actGetItem, actUpdateItem}, partitions: []string{store.PartitionShop, store.PartitionCampaigns, store.PartitionRecipients}},
		{actions: []string{actPutItem}, partitions: []string{store.PartitionSuppressed, store.PartitionCampaigns}},
	}
)
