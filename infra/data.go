package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// data is the stack's state: the single table every function reads and writes.
type data struct {
	// Table holds shops, orders, customer summaries (sharded per shop across
	// partition keys, so no GSI is needed) and everything later issues add.
	// Access to it is granted per function (access.go).
	Table awsdynamodb.ITable
	// Imported is true when Table is an existing table (the tableName
	// context key), which the stack uses but does not manage.
	Imported bool
}

// newData creates the single table: pk/sk strings, on-demand, TTL on "ttl",
// point-in-time recovery, deletion protection (a delete-table call, by hand
// or by a replacing deployment, is refused until it is turned off), kept
// when the stack is deleted. Its name is left to CloudFormation and reaches
// the functions as WINBACK_TABLE.
//
// With cfg.TableName (the tableName context key) the stack uses that
// existing table instead, e.g. one restored to a point in time, and
// creates none: the table it created before leaves the stack, retained.
// TTL, point-in-time recovery and deletion protection of an imported
// table are its own (a restore sets none of them; README, Restore).
func newData(scope constructs.Construct, cfg config) *data {
	if cfg.TableName != "" {
		return &data{
			Table:    awsdynamodb.Table_FromTableName(scope, jsii.String("Table"), jsii.String(cfg.TableName)),
			Imported: true,
		}
	}
	table := awsdynamodb.NewTable(scope, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	return &data{Table: table}
}
