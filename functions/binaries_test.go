// Package functions_test checks the Lambda binaries as they are deployed:
// what each links, and how large it is.
package functions_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// module is the module path of winback.
const module = "github.com/winback/winback"

// scorers are the functions that fit or apply the CLV models; only they
// may link shared/clv, shared/scoring and gonum, and their size limit is
// maxScorerRatio.
var scorers = map[string]bool{"score": true}

// renderers are the functions that render e-mails; only they may link the
// template engines (html/template, text/template: 0.6 MB).
var renderers = map[string]bool{"send": true}

// maxRatio bounds a function binary's size by its reference program's;
// maxScorerRatio a scorer's, which links the models and gonum besides
// (the bound for every function: 1.2×).
const (
	maxRatio       = 1.1
	maxScorerRatio = 1.2
)

// servicePrefix starts the import path of an AWS SDK service client.
const servicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// calls is an operation of each AWS service a function may use besides
// DynamoDB, as a reference calls it: one call links what every call of the
// service shares (the client's middleware, its error and shape schemas).
var calls = map[string]string{
	"kms":   "Decrypt(ctx, &kms.DecryptInput{})",
	"sesv2": "SendEmail(ctx, &sesv2.SendEmailInput{})",
	"sqs":   "SendMessage(ctx, &sqs.SendMessageInput{})",
}

// reference is a bare Lambda with the SDK config and DynamoDB clients, the
// least a function of winback links (9.50 MB), plus what the function it
// measures links beyond that and cannot shed:
//   - a client of each other AWS service it uses, held in an interface as
//     the adapters hold them, and one call of it (the send function, which
//     calls DynamoDB, SES and SQS, is measured against a bare Lambda with
//     those three clients);
//   - when it renders e-mails, a text/template and an html/template
//     executed. The engines call reflect's MethodByName, which makes the
//     linker keep every exported method of every type in an interface:
//     each operation of each client then stays in the binary (about
//     6 MB with DynamoDB, SES and SQS), in the reference as in the
//     function.
//
// No function embeds the time zone database (time/tzdata, 0.46 MB): make
// build ships Go's zoneinfo.zip beside each binary and infra/ points
// ZONEINFO at it.
func reference(services []string, templates bool) string {
	var imports, clients, uses strings.Builder
	if templates {
		imports.WriteString("\thtmltemplate \"html/template\"\n\t\"io\"\n\ttexttemplate \"text/template\"\n")
		uses.WriteString("\t\t_ = texttemplate.Must(texttemplate.New(\"t\").Parse(ev.Body)).Execute(io.Discard, ev)\n")
		uses.WriteString("\t\t_ = htmltemplate.Must(htmltemplate.New(\"h\").Parse(ev.Body)).Execute(io.Discard, ev)\n")
	}
	for _, svc := range services {
		fmt.Fprintf(&imports, "\t%q\n", servicePrefix+svc)
		fmt.Fprintf(&clients, "\t%sClient := %s.NewFromConfig(cfg)\n\tclients = append(clients, %sClient)\n", svc, svc, svc)
		fmt.Fprintf(&uses, "\t\t_, _ = %sClient.%s\n", svc, calls[svc])
	}
	return `package main

import (
	"context"
` + imports.String() + `
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
` + clients.String() + `	lambda.Start(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		item, err := attributevalue.MarshalMap(ev.QueryStringParameters)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &ev.RouteKey, Item: item})
` + uses.String() + `		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, err
	})
}
`
}

// linksTemplates reports whether go list -deps printed text/template.
func linksTemplates(deps []byte) bool {
	return bytes.Contains(append([]byte("\n"), deps...), []byte("\ntext/template\n"))
}

// services lists the AWS service clients (their package names, sorted)
// among the packages go list -deps printed, leaving out those in skip.
func services(deps []byte, skip map[string]bool) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(deps))
	for sc.Scan() {
		svc, ok := strings.CutPrefix(sc.Text(), servicePrefix)
		if ok && !strings.Contains(svc, "/") && !skip[svc] {
			out = append(out, svc)
		}
	}
	sort.Strings(out)
	return out
}

// functionNames lists the functions: the directories under functions/
// with a main.go.
func functionNames(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join("*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) == 0 {
		t.Fatal("no functions/*/main.go")
	}
	var names []string
	for _, m := range mains {
		if name := filepath.Dir(m); !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") {
			names = append(names, name)
		}
	}
	return names
}

// goCmd runs the go command in the module root dir with the Lambda
// platform and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	out, err := run(dir, lambdaEnv, "go", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forbidden says why a function must not link package path, or "" when it may.
func forbidden(fn, path string) string {
	last := path[strings.LastIndex(path, "/")+1:]
	switch {
	case path == "testing" || strings.HasPrefix(path, "testing/"):
		return "test support"
	case strings.HasPrefix(path, module+"/internal/"):
		return "internal/ holds local-dev and test support (emulators, local event sources, the demo's shop, the browser check)"
	case strings.HasPrefix(path, "github.com/chromedp/") || strings.HasPrefix(path, "gonum.org/v1/plot"):
		return "the browser check and the report's charts are local tools"
	case strings.HasPrefix(path, module+"/scripts/"):
		return "scripts are local tools"
	case strings.HasPrefix(path, module+"/") && (strings.HasSuffix(last, "test") || last == "memstore"):
		return "test helpers and fakes stay out of production binaries"
	case path == "time/tzdata":
		return "the zone database ships beside the binary (ZONEINFO), not inside it"
	case !renderers[fn] && (path == "html/template" || path == "text/template" || strings.HasPrefix(path, "text/template/")):
		return "the template engines belong only in the functions that render e-mails"
	case scorers[fn]:
		return ""
	case strings.HasPrefix(path, "gonum.org/"), path == module+"/shared/clv", path == module+"/shared/scoring":
		return "model code belongs only in the functions that score"
	}
	return ""
}

// TestFunctionImports checks with go list -deps, for the Lambda build
// tags and platform, that no function links test support, local tools,
// (unless it scores) the models or (unless it renders e-mails) the
// template engines.
func TestFunctionImports(t *testing.T) {
	if testing.Short() {
		t.Skip("go list of every function: skipped in -short mode")
	}
	for _, fn := range functionNames(t) {
		t.Run(fn, func(t *testing.T) {
			out := goCmd(t, "..", "list", "-deps", "-tags", "lambda.norpc", "./functions/"+fn)
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if why := forbidden(fn, sc.Text()); why != "" {
					t.Errorf("functions/%s links %s: %s", fn, sc.Text(), why)
				}
			}
		})
	}
}

// TestForbidden keeps the import rules themselves honest.
func TestForbidden(t *testing.T) {
	tests := []struct {
		fn, path string
		bad      bool
	}{
		{"ingest", "testing", true},
		{"ingest", "testing/fstest", true},
		{"ingest", module + "/internal/emulator", true},
		{"ingest", module + "/scripts/internal/localenv", true},
		{"ingest", module + "/shared/store/storetest", true},
		{"ingest", module + "/shared/store/memstore", true},
		{"ingest", module + "/shared/customer/customertest", true},
		{"ingest", "gonum.org/v1/gonum/optimize", true},
		{"ingest", module + "/shared/clv", true},
		{"ingest", module + "/shared/scoring", true},
		{"ingest", module + "/shared/store", false},
		{"ingest", module + "/shared/customer", false},
		{"ingest", "github.com/aws/aws-sdk-go-v2/service/dynamodb", false},
		{"ingest", "net/http/httptest", false}, // a std package named *test is not ours to judge
		{"api", "html/template", true},
		{"mailevents", "text/template", true},
		{"nightly", "text/template/parse", true},
		{"send", "html/template", false},
		{"send", "text/template/parse", false},
		{"send", module + "/shared/scoring", true},
		{"score", "text/template", true},
	}
	for _, tt := range tests {
		if got := forbidden(tt.fn, tt.path) != ""; got != tt.bad {
			t.Errorf("forbidden(%q, %q) = %v; want %v", tt.fn, tt.path, got, tt.bad)
		}
	}
}

// TestFunctionSizes builds every function as make build does (with
// scripts/build-function.sh, from the snapshot TestReproducibleBuilds
// shares), and for each a bare reference Lambda with the same AWS service
// clients the same way, reports each function's size and checks that each
// is within maxRatio of its reference (a scorer within maxScorerRatio).
func TestFunctionSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function for linux/arm64: skipped in -short mode")
	}
	fns := functionNames(t)
	root, builds := snapshotBuilds(t, fns)
	// The references are written into the snapshot to use its go.mod; the
	// leading underscore keeps ./... patterns away from them.
	refDir := filepath.Join(root, "_sizeref")
	bin := t.TempDir()
	build := func(name, pkg string) int64 {
		t.Helper()
		b, err := buildFunction(root, pkg, filepath.Join(bin, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b.size
	}
	// writeRef writes a reference and returns its package path.
	writeRef := func(name, src string) string {
		t.Helper()
		dir := filepath.Join(refDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return "./_sizeref/" + name
	}
	// The bare reference's own clients (DynamoDB, and those the SDK
	// config links) are no extra.
	bare := writeRef("bare", reference(nil, false))
	inBare := map[string]bool{}
	for _, svc := range services(goCmd(t, root, "list", "-deps", "-tags", "lambda.norpc", bare), nil) {
		inBare[svc] = true
	}
	refs := map[string]int64{} // reference name → size
	for _, fn := range fns {
		deps := goCmd(t, root, "list", "-deps", "-tags", "lambda.norpc", "./functions/"+fn)
		extra, templates := services(deps, inBare), linksTemplates(deps)
		name := strings.Join(append([]string{"dynamodb"}, extra...), "+")
		if templates {
			name += "+templates"
		}
		ref, ok := refs[name]
		if !ok {
			for _, svc := range extra {
				if calls[svc] == "" {
					t.Fatalf("functions/%s uses the AWS service %s: add a representative call of it to calls", fn, svc)
				}
			}
			ref = build("reference-"+strings.ReplaceAll(name, "+", "-"), writeRef(strings.ReplaceAll(name, "+", "_"), reference(extra, templates)))
			refs[name] = ref
			t.Logf("reference (lambda, events, config, attributevalue, %s): %s; limit %s", name, mb(ref), mb(int64(float64(ref)*maxRatio)))
		}
		ratio := maxRatio
		if scorers[fn] {
			ratio = maxScorerRatio
		}
		limit := int64(float64(ref) * ratio)
		size := builds[fn].size
		t.Logf("%-12s %s (%.3f× the reference with %s; limit %.1f×)", fn, mb(size), float64(size)/float64(ref), name, ratio)
		if size > limit {
			t.Errorf("functions/%s is %s, over %.1f× its reference with %s (%s): see go list -deps ./functions/%s",
				fn, mb(size), ratio, name, mb(limit), fn)
		}
	}
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }
