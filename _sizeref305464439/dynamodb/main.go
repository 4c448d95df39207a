package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var clients []any

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	clients = append(clients, db)
	lambda.Start(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		item, err := attributevalue.MarshalMap(ev.QueryStringParameters)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &ev.RouteKey, Item: item})
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, err
	})
}
