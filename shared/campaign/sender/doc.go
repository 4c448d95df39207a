// Package sender is the send function: it takes the campaign queue's
// messages (campaign.SendMessage, one recipient each) and hands each
// recipient's e-mail to SES, throttle-aware, and never twice.
//
// SES has no idempotency key: an e-mail SES accepted whose answer was
// lost, sent again, is a second e-mail. So the sender claims a recipient
// in the store before it calls SES, and a claim it cannot account for is
// never sent again. The rules, for one message (RULES.md, "Sending: at
// most once", says the same):
//
//  1. A body that does not parse, or names a shop or campaign that does
//     not exist, goes to the dead letters with the reason and is
//     acknowledged. A recipient that does not exist is acknowledged: the
//     runner records recipients before it queues them, so the customer
//     was erased since (erasure removes their recipients).
//  2. A dry run's campaign sends nothing.
//  3. The recipient's state decides. queued: go on. sending, claimed less
//     than campaign.ClaimLease ago: another sender holds it, or crashed
//     just now: try again later (a batch item failure). sending, claimed
//     longer ago: the claim is abandoned and SES may have accepted the
//     e-mail, so the recipient moves to in_doubt and is never sent again
//     (SES's events, through the feedback handler, move it to sent when
//     SES did send it). Any other state: done, acknowledged.
//  4. A queued recipient of a paused campaign stays queued and the
//     message is acknowledged: the run that resumes the campaign queues
//     it again. A campaign still selecting sends (the runner queues each
//     shard's recipients as it records them).
//  5. A recipient selected more than MaxSendDelay (72 h) ago, or a
//     customer who is erased, has no address, no longer accepts
//     marketing, placed a counted order after the selection or is
//     suppressed for the shop is skipped (reasons stale, erased,
//     no_email, no_consent, ordered_since_selected, suppressed).
//  6. A shop without a valid sender address, an e-mail that cannot be
//     rendered or signed, tags SES would refuse: the recipient fails
//     with a reason naming what failed, the reason goes to the dead
//     letters, and the message is acknowledged.
//  7. The claim: queued → sending with a fresh claim id and time, in one
//     conditional write, taken only with 45 s of the invocation left
//     (the claim, SendEmail's 30 s, the record's 10 s), checked after the
//     rate limiter's wait; with less, nothing is claimed and the message
//     is tried again. If the recipient changed meanwhile, rule 3 applies
//     to what it became.
//  8. One SendEmail call (never retried by the SDK) with exactly one
//     List-Unsubscribe header (<https://…/v1/unsubscribe/TOKEN>) and
//     List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), and
//     the tags shop, campaign and send_id.
//  9. Accepted: sending → sent with SES's message id (conditional on the
//     claim). If that write fails the message is tried again; the
//     redelivery finds the recipient sending (rule 3). If the recipient
//     is already sent with the same message id (an SES event came
//     first), that is success.
//     Throttled: the claim is released (→ queued), the sender halves its
//     rate, and the message is tried again after the visibility timeout.
//     Sending paused for the account: the claim is released, the
//     campaign is paused, an ERROR with winback_metric=SendingPaused is
//     logged for the alarm, and the message is acknowledged.
//     Rejected: the recipient fails ("rejected by SES: …"), the reason
//     goes to the dead letters, acknowledged.
//     Anything else: SES may have accepted it. The claim stays, the
//     message is tried again, and rule 3 turns it in_doubt after the
//     lease: never sent twice.
//
// Nothing is marked sent that SES did not accept. Every conditional
// write is retried a few times in the same invocation; a retry that finds
// its own earlier attempt applied (the claim id, the message id) takes it
// as done. Records go first, dead letters after: a dead letter that
// cannot be sent is logged at ERROR (the recipient keeps the reason).
//
// A Sender reuses a shop, its configuration and a sending campaign for
// 10 s, and the token key for its life: a campaign paused elsewhere may
// see a few more e-mails handed to SES in that time (SES refuses them if
// the account is paused); a paused campaign is read again every time, so
// a resumed one sends at once.
//
// Work runs the records of a batch in parallel, up to Concurrency, paced
// by one rate limiter (Rate e-mails per second per instance, halved on
// throttling, restored step by step), and starts no record when less than
// 45 s of the invocation remain. Logs carry the shop, campaign, send and
// customer ids and the outcome, never an e-mail address.
package sender
