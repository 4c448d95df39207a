package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// ProblemFor maps an error to the problem that answers it: the one place
// where domain errors become HTTP statuses. Errors it does not know are
// answered 503 "try again" (they are storage or network failures; the
// caller logs them), without their text, which may hold internals.
func ProblemFor(err error) *Problem {
	var ve *order.ValidationError
	switch {
	case errors.As(err, &ve):
		p := &Problem{
			Type: TypeValidation, Title: "Invalid order", Status: http.StatusUnprocessableEntity,
			Detail: fmt.Sprintf("%d invalid field(s); each is listed in errors with a JSON pointer into the request body",
				len(ve.Fields)+ve.More),
		}
		p.AddErrors(fieldErrors(ve), ve.More)
		return p
	case errors.Is(err, order.ErrMalformed):
		detail := strings.TrimPrefix(err.Error(), order.ErrMalformed.Error()+": ")
		return &Problem{Type: TypeMalformed, Title: "Malformed JSON", Status: http.StatusBadRequest, Detail: detail}
	case errors.Is(err, customer.ErrConflict):
		return &Problem{
			Type: TypeConflict, Title: "Order conflicts with a stored order", Status: http.StatusConflict,
			Detail: "the order was already stored with a different customer, creation time or currency, " +
				"or it was refunded or cancelled: re-send it with a newer updated_at if that is really its new state",
		}
	case errors.Is(err, customer.ErrTooLarge):
		return &Problem{
			Type: TypeTooLarge, Title: "Customer history full", Status: http.StatusUnprocessableEntity,
			Detail: "the customer's purchase history has reached the size one record can hold; " +
				"the order was not stored and retrying will not change that",
		}
	case errors.Is(err, shop.ErrBadKey):
		return Unauthorized("the API key is not valid")
	case errors.Is(err, shop.ErrNotFound), errors.Is(err, customer.ErrNotFound):
		return NewProblem(http.StatusNotFound, "no such resource")
	}
	return Unavailable()
}

func fieldErrors(ve *order.ValidationError) []FieldError {
	out := make([]FieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		out[i] = FieldError{Pointer: f.Pointer, Detail: f.Detail}
	}
	return out
}

// Unavailable is the 503 answering a failure the client may retry.
func Unavailable() *Problem {
	p := &Problem{
		Type: TypeUnavailable, Title: "Temporarily unavailable", Status: http.StatusServiceUnavailable,
		Detail: "nothing was stored; retry the request (it is idempotent)",
	}
	return p.WithHeader("Retry-After", "1")
}

// Unauthorized is the 401 problem with its WWW-Authenticate challenge.
func Unauthorized(detail string) *Problem {
	return NewProblem(http.StatusUnauthorized, detail).WithHeader("WWW-Authenticate", `Bearer realm="winback"`)
}

// WriteError answers err with its problem, logging the errors that are ours
// (5xx) with the request's logger.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(err)
	if p.Status >= 500 {
		Log(r.Context()).ErrorContext(r.Context(), "request failed", "error", err)
	}
	p.Write(w)
}
