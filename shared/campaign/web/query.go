package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/httpapi"
)

// queryParams parses the query string strictly, as shared/report does: a
// malformed one, an unknown parameter, a repeated one or an empty value is
// a 400 naming it.
func queryParams(r *http.Request, known ...string) (url.Values, *httpapi.Problem) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, httpapi.NewProblem(http.StatusBadRequest, "the query string is malformed")
	}
	for name := range q {
		if !slices.Contains(known, name) {
			return nil, badParam(name, fmt.Sprintf("is not a parameter of this route (it takes %v)", known))
		}
	}
	for _, name := range known {
		switch v, ok := q[name]; {
		case ok && len(v) > 1:
			return nil, badParam(name, "is given more than once")
		case ok && v[0] == "":
			return nil, badParam(name, "is empty (leave it out for the default)")
		}
	}
	return q, nil
}

// noQuery answers 400 for any query parameter: the route takes none.
func noQuery(r *http.Request) *httpapi.Problem {
	if r.URL.RawQuery == "" {
		return nil
	}
	_, p := queryParams(r)
	if p == nil {
		p = badParam("", "is not expected: this route takes no query parameters")
	}
	return p
}

// intParam is the whole number of parameter name within [lo, hi], or def
// when it is absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, *httpapi.Problem) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return n, nil
}

func badParam(name, detail string) *httpapi.Problem {
	p := httpapi.NewProblem(http.StatusBadRequest, "query parameter "+name+" "+detail)
	p.Errors = []httpapi.FieldError{{Pointer: "?" + name, Detail: detail}}
	return p
}

// position is where a coupon page starts: in bucket, after the recipient
// with send id after ("" from the bucket's start).
type position struct {
	bucket int
	after  string
}

// A cursor is the unpadded base64url JSON of [bucket, after send id]. It
// only ever positions a read within the caller's own shop's campaign.
func encodeCursor(p position) string {
	b, _ := json.Marshal([]any{p.bucket, p.after})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("not a cursor")

// decodeCursor accepts exactly what encodeCursor writes: a bucket in
// [0, campaign.Buckets) and an empty send id or a valid one of that bucket.
func decodeCursor(c string) (position, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return position{}, errCursor
	}
	var v []json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
		return position{}, errCursor
	}
	var p position
	if json.Unmarshal(v[0], &p.bucket) != nil || json.Unmarshal(v[1], &p.after) != nil ||
		p.bucket < 0 || p.bucket >= campaign.Buckets ||
		(p.after != "" && (!campaign.ValidSendID(p.after) || campaign.Bucket(p.after) != p.bucket)) {
		return position{}, errCursor
	}
	return p, nil
}
