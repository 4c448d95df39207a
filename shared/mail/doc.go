// Package mail renders win-back e-mails: a shop's template (campaign.Template,
// or DefaultTemplate) over MessageData, with html/template for the HTML part
// and text/template for the subject and text. It is kept apart from package
// campaign so that functions that only read campaigns do not link the
// template engines. The SES adapter is mail/ses.
package mail
