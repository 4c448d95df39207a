package store

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// MaxItemSize is DynamoDB's item size limit as the store applies it.
const MaxItemSize = maxItemSize

// DecodeOrder decodes a raw order item (for tests that scan the table).
func DecodeOrder(item map[string]types.AttributeValue) (order.Order, error) {
	var r orderRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return order.Order{}, err
	}
	return r.order()
}

// SetMaxItem changes the item size over which the store refuses a write
// itself, so that tests can see what DynamoDB does instead.
func (s *Store) SetMaxItem(n int) { s.maxItem = n }

// SummaryItem is the item the store writes for summary sum at version 1.
func SummaryItem(sh shop.Shop, sum customer.Summary) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(toSummaryRecord(sh, sum, 1, ""))
}
