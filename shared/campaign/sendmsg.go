package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrBadSendMessage means a send message is malformed: it can never be
// handled, so it is not retried.
var ErrBadSendMessage = errors.New("bad send message")

// SendMessage is what the campaign queue carries: one recipient of one
// campaign to hand to SES. It names the recipient only by ids; the sender
// reads everything else (and the recipient's state) from the store, so a
// message delivered twice, late or after the campaign was paused is
// harmless.
type SendMessage struct {
	ShopID     string `json:"shop_id"`
	CampaignID string `json:"campaign_id"`
	SendID     string `json:"send_id"`
}

// Body is the message as JSON, the queue message's body.
func (m SendMessage) Body() string {
	b, _ := json.Marshal(m) // three strings always encode
	return string(b)
}

// ParseSendMessage reads and checks a message body: one JSON object with
// exactly the three fields, none empty, and send_id a SendID. Anything
// else is an error matching ErrBadSendMessage.
func ParseSendMessage(body string) (SendMessage, error) {
	var m SendMessage
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return SendMessage{}, fmt.Errorf("%w: %v", ErrBadSendMessage, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return SendMessage{}, fmt.Errorf("%w: data after the JSON object", ErrBadSendMessage)
	}
	switch {
	case m.ShopID == "":
		return m, fmt.Errorf("%w: no shop_id", ErrBadSendMessage)
	case m.CampaignID == "":
		return m, fmt.Errorf("%w: no campaign_id", ErrBadSendMessage)
	case !ValidSendID(m.SendID):
		return m, fmt.Errorf("%w: send_id %q is not 20 lowercase hex digits", ErrBadSendMessage, m.SendID)
	}
	return m, nil
}
