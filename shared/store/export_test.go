package store

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/order"
)

// DecodeOrder decodes a raw order item (for tests that scan the table).
func DecodeOrder(item map[string]types.AttributeValue) (order.Order, error) {
	var r orderRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return order.Order{}, err
	}
	return r.order()
}
