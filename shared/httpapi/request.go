package httpapi

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBody is the largest request body accepted, after base64 decoding.
const MaxBody = 1 << 20

// Header returns a request header by name, whatever its case.
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// JSONBody returns the raw request body after checking that it is JSON
// (415 otherwise), at most MaxBody bytes (413) and well encoded (400).
func JSONBody(req events.APIGatewayV2HTTPRequest) ([]byte, *Problem) {
	mt, _, err := mime.ParseMediaType(Header(req, "Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, NewProblem(http.StatusUnsupportedMediaType, "send the body as application/json")
	}
	// Cheap size check before decoding: base64 is 4/3 of the payload.
	if limit := MaxBody; (req.IsBase64Encoded && len(req.Body) > (limit/3+1)*4) || (!req.IsBase64Encoded && len(req.Body) > limit) {
		return nil, NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must be at most %d bytes", MaxBody))
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, NewProblem(http.StatusBadRequest, "the body is not valid base64")
		}
		if len(body) > MaxBody {
			return nil, NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must be at most %d bytes", MaxBody))
		}
	}
	if len(body) == 0 {
		return nil, &Problem{Type: TypeMalformed, Title: "Malformed JSON", Status: http.StatusBadRequest, Detail: "the body is empty"}
	}
	return body, nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(req events.APIGatewayV2HTTPRequest) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(Header(req, "Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Unauthorized is the 401 problem with its WWW-Authenticate challenge.
func Unauthorized(detail string) events.APIGatewayV2HTTPResponse {
	resp := NewProblem(http.StatusUnauthorized, detail).Response()
	resp.Headers["WWW-Authenticate"] = `Bearer realm="winback"`
	return resp
}
