package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/winback/winback/internal/iam"
	"github.com/winback/winback/shared/store"
)

// Least privilege, checked on the synthesized template: checkPrivilege
// holds the rules every resource of the stack obeys (one role per
// function, no wildcard actions, no wildcard resources unless listed with
// a reason, Lambda invocations only from this stack's API, rules and
// schedules for their own targets), and is itself tested on doctored
// templates; the per-function tests below say what each role may do on
// the table, evaluating its statements as IAM does.

// statement is one statement of a policy of the template.
type statement struct {
	where     string // "IngestRoleDefaultPolicy…", "SendQueuePolicy…", "Key… (key policy)"
	kind      string // "identity", "resource" or "key"
	roles     []string
	effect    string
	actions   []string
	resources []any
	principal any
	condition any
}

// statements returns every statement of the template's policies: the
// roles' (AWS::IAM::Policy, inline, managed), the queues' and topics'
// resource policies and the KMS keys' key policies.
func statements(raw map[string]any) []statement {
	var out []statement
	add := func(where, kind string, roles []string, doc any) {
		d, _ := doc.(map[string]any)
		for _, s := range asList(d["Statement"]) {
			st, _ := s.(map[string]any)
			one := statement{where: where, kind: kind, roles: roles, effect: fmt.Sprint(st["Effect"]),
				resources: asList(st["Resource"]), principal: st["Principal"], condition: st["Condition"]}
			if _, ok := st["Resource"]; !ok {
				one.resources = nil
			}
			for _, a := range asList(st["Action"]) {
				one.actions = append(one.actions, fmt.Sprint(a))
			}
			if na, ok := st["NotAction"]; ok {
				one.actions = append(one.actions, "NotAction:"+fmt.Sprint(na))
			}
			if nr, ok := st["NotResource"]; ok {
				one.resources = append(one.resources, "NotResource:"+fmt.Sprint(nr))
			}
			out = append(out, one)
		}
	}
	refs := func(v any) []string {
		var ids []string
		for _, r := range asList(v) {
			m, _ := r.(map[string]any)
			if id, ok := m["Ref"].(string); ok {
				ids = append(ids, id)
			}
		}
		return ids
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for id, pol := range resources(raw, typ) {
			add(id, "identity", refs(props(pol)["Roles"]), props(pol)["PolicyDocument"])
		}
	}
	for id, role := range resources(raw, "AWS::IAM::Role") {
		for _, p := range asList(props(role)["Policies"]) {
			pol, _ := p.(map[string]any)
			add(id+" (inline)", "identity", []string{id}, pol["PolicyDocument"])
		}
	}
	for _, typ := range []string{"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"} {
		for id, pol := range resources(raw, typ) {
			add(id, "resource", nil, props(pol)["PolicyDocument"])
		}
	}
	for id, key := range resources(raw, "AWS::KMS::Key") {
		add(id+" (key policy)", "key", nil, props(key)["KeyPolicy"])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

// wildcardResources are the actions that may be allowed on Resource "*",
// each with the reason AWS offers nothing narrower. None today: every
// statement of the stack names its resources. (X-Ray's PutTraceSegments,
// for instance, would go here: X-Ray has no resource-level permissions.)
var wildcardResources = map[string]string{}

// privilegeRules are what checkPrivilege checks a template against.
type privilegeRules struct {
	// apiFunctions are the logical ids of the functions API Gateway may invoke.
	apiFunctions []string
	// wildcardResources are the actions allowed on Resource "*", with why.
	wildcardResources map[string]string
}

// checkPrivilege returns every way the template breaks the stack's least
// privilege rules (nil: none).
func checkPrivilege(raw map[string]any, rules privilegeRules) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	// Every function has a role of its own, of the stack.
	roles := resources(raw, "AWS::IAM::Role")
	owner := map[string]string{} // role → function
	for fnID, fn := range resources(raw, "AWS::Lambda::Function") {
		r, _ := props(fn)["Role"].(map[string]any)
		att, _ := r["Fn::GetAtt"].([]any)
		if len(att) != 2 || roles[fmt.Sprint(att[0])] == nil {
			fail("function %s: Role %v is not a role of the stack", fnID, props(fn)["Role"])
			continue
		}
		role := att[0].(string)
		if other, ok := owner[role]; ok {
			fail("functions %s and %s share the role %s", min(other, fnID), max(other, fnID), role)
		}
		owner[role] = fnID
	}

	for _, st := range statements(raw) {
		for _, act := range st.actions {
			switch {
			case strings.HasPrefix(act, "NotAction:"):
				fail("%s: NotAction %s", st.where, act)
			case !strings.Contains(act, "*"):
			case st.effect == "Deny" && tlsOnly(st.condition):
				// A Deny takes away: refusing every action over plain
				// HTTP (EnforceSSL) is right with a wildcard.
			case st.kind == "key" && isAccountRoot(st.principal):
				// The default key policy: the account (its IAM
				// policies) decides who uses the key; they grant
				// named actions only.
			default:
				fail("%s: %s %s, a wildcard action", st.where, st.effect, act)
			}
		}
		for _, r := range st.resources {
			s, ok := r.(string)
			switch {
			case ok && strings.HasPrefix(s, "NotResource:"):
				fail("%s: %s", st.where, s)
			case !ok || s != "*":
			case st.kind == "key":
				// In a key policy, "*" is the key itself.
			case st.effect == "Deny":
			default:
				for _, act := range st.actions {
					if _, listed := rules.wildcardResources[act]; !listed {
						fail("%s: %s on Resource \"*\", which is not listed with a reason", st.where, act)
					}
				}
			}
		}
	}

	// API Gateway may invoke the API's functions only, from this stack's
	// HTTP API; EventBridge a function only from a rule that targets it.
	apiIDs := resources(raw, "AWS::ApiGatewayV2::Api")
	ruleTargets := map[string][]string{} // rule → function
	for ruleID, rule := range resources(raw, "AWS::Events::Rule") {
		for _, t := range asList(props(rule)["Targets"]) {
			target, _ := t.(map[string]any)
			ruleTargets[ruleID] = append(ruleTargets[ruleID], functionOf(target["Arn"]))
		}
	}
	for id, perm := range resources(raw, "AWS::Lambda::Permission") {
		p := props(perm)
		fn := functionOf(p["FunctionName"])
		source := render(p["SourceArn"])
		switch p["Principal"] {
		case "apigateway.amazonaws.com":
			if !slices.Contains(rules.apiFunctions, fn) {
				fail("%s: API Gateway may invoke %s, not one of the API's functions %v", id, fn, rules.apiFunctions)
			}
			scoped := false
			for apiID := range apiIDs {
				scoped = scoped || strings.HasPrefix(source, "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${"+apiID+"}/")
			}
			if !scoped {
				fail("%s: API Gateway may invoke %s from %q, not from this stack's HTTP API", id, fn, source)
			}
		case "events.amazonaws.com":
			att, _ := p["SourceArn"].(map[string]any)["Fn::GetAtt"].([]any)
			if len(att) != 2 || !slices.Contains(ruleTargets[fmt.Sprint(att[0])], fn) {
				fail("%s: EventBridge may invoke %s from %q, not a rule of the stack that targets it", id, fn, source)
			}
		default:
			fail("%s: %v may invoke %s", id, p["Principal"], fn)
		}
	}

	// A role that may invoke a function is a schedule's, for its target.
	targets := map[string][]string{} // role → the functions its schedules target
	for _, sch := range resources(raw, "AWS::Scheduler::Schedule") {
		target, _ := props(sch)["Target"].(map[string]any)
		r, _ := target["RoleArn"].(map[string]any)
		if att, _ := r["Fn::GetAtt"].([]any); len(att) == 2 {
			targets[fmt.Sprint(att[0])] = append(targets[fmt.Sprint(att[0])], functionOf(target["Arn"]))
		}
	}
	for _, st := range statements(raw) {
		if st.effect != "Allow" || !slices.Contains(st.actions, "lambda:InvokeFunction") {
			continue
		}
		for _, role := range st.roles {
			for _, r := range st.resources {
				if fn := functionOf(r); fn == "" || !slices.Contains(targets[role], fn) {
					fail("%s: role %s may invoke %s, not its schedules' target", st.where, role, render(r))
				}
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// functionOf is the logical id of the function an ARN (GetAtt of its Arn,
// or that ARN with ":*" for its versions) or Ref names ("" for anything else).
func functionOf(v any) string {
	m, _ := v.(map[string]any)
	if id, ok := m["Ref"].(string); ok {
		return id
	}
	if att, _ := m["Fn::GetAtt"].([]any); len(att) == 2 && att[1] == "Arn" {
		return fmt.Sprint(att[0])
	}
	if join, _ := m["Fn::Join"].([]any); len(join) == 2 {
		parts := asList(join[1])
		if len(parts) == 2 && parts[1] == ":*" {
			return functionOf(parts[0])
		}
	}
	return ""
}

// tlsOnly reports whether a condition is EnforceSSL's: plain HTTP only.
func tlsOnly(cond any) bool {
	return reflect.DeepEqual(cond, map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}})
}

// isAccountRoot reports whether a principal is the stack's account root.
func isAccountRoot(principal any) bool {
	p, _ := principal.(map[string]any)
	return strings.HasSuffix(render(p["AWS"]), ":iam::${AWS::AccountId}:root")
}

// privilegeOf returns the rules of the synthesized stack: the ingest and
// api functions are the API's.
func privilegeOf(t *testing.T, raw map[string]any) privilegeRules {
	return privilegeRules{
		apiFunctions:      []string{functionID(t, raw, "ingest"), functionID(t, raw, "api")},
		wildcardResources: wildcardResources,
	}
}

func TestLeastPrivilege(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN it keeps every rule of least privilege
	for _, v := range checkPrivilege(raw, privilegeOf(t, raw)) {
		t.Error(v)
	}
	// AND it has what the rules look at: functions, statements, API
	// Gateway's and EventBridge's permissions, a schedule
	if n := len(resources(raw, "AWS::Lambda::Function")); n < 6 {
		t.Errorf("%d functions, want the 6 of the stack", n)
	}
	principals := map[any]int{}
	for _, perm := range resources(raw, "AWS::Lambda::Permission") {
		principals[props(perm)["Principal"]]++
	}
	if principals["apigateway.amazonaws.com"] == 0 || principals["events.amazonaws.com"] != 1 {
		t.Errorf("Lambda permissions by principal: %v", principals)
	}
}

// doctored returns a small template of two functions with their own roles,
// an API and an events rule, each permission in order; change edits it.
func doctored(t *testing.T, change func(res map[string]any)) map[string]any {
	t.Helper()
	const tpl = `{"Resources": {
	  "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
	  "RoleA": {"Type": "AWS::IAM::Role", "Properties": {}},
	  "RoleB": {"Type": "AWS::IAM::Role", "Properties": {}},
	  "FnA": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["RoleA", "Arn"]}}},
	  "FnB": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["RoleB", "Arn"]}}},
	  "PolicyA": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "RoleA"}], "PolicyDocument": {"Statement": [
	    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}]}}},
	  "QueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"PolicyDocument": {"Statement": [
	    {"Effect": "Deny", "Action": "sqs:*", "Principal": {"AWS": "*"}, "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
	     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}},
	  "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Arn": {"Fn::GetAtt": ["FnB", "Arn"]}, "Id": "T"}]}},
	  "ApiPermission": {"Type": "AWS::Lambda::Permission", "Properties": {"Action": "lambda:InvokeFunction",
	    "FunctionName": {"Fn::GetAtt": ["FnA", "Arn"]}, "Principal": "apigateway.amazonaws.com",
	    "SourceArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":execute-api:", {"Ref": "AWS::Region"}, ":",
	      {"Ref": "AWS::AccountId"}, ":", {"Ref": "Api"}, "/*/*/v1/orders"]]}}},
	  "RulePermission": {"Type": "AWS::Lambda::Permission", "Properties": {"Action": "lambda:InvokeFunction",
	    "FunctionName": {"Fn::GetAtt": ["FnB", "Arn"]}, "Principal": "events.amazonaws.com",
	    "SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]}}}
	}}`
	var raw map[string]any
	if err := json.Unmarshal([]byte(tpl), &raw); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(raw["Resources"].(map[string]any))
	}
	return raw
}

// set sets a value at a path of maps and lists ("Properties", "PolicyDocument", "Statement", 0, …).
func set(t *testing.T, root map[string]any, value any, path ...any) {
	t.Helper()
	var cur any = root
	for i, key := range path {
		last := i == len(path)-1
		switch k := key.(type) {
		case string:
			m := cur.(map[string]any)
			if last {
				m[k] = value
				return
			}
			cur = m[k]
		case int:
			l := cur.([]any)
			if last {
				l[k] = value
				return
			}
			cur = l[k]
		}
	}
}

func TestCheckPrivilegeFindsEachBreach(t *testing.T) {
	rules := privilegeRules{apiFunctions: []string{"FnA"}, wildcardResources: map[string]string{"xray:PutTraceSegments": "no resources"}}
	if bad := checkPrivilege(doctored(t, nil), rules); bad != nil {
		t.Fatalf("the clean template: %v", bad)
	}
	getItem := []any{map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}}
	for _, tt := range []struct {
		name   string
		change func(res map[string]any)
		want   string
	}{
		{"a shared role", func(res map[string]any) {
			set(t, res, map[string]any{"Fn::GetAtt": []any{"RoleA", "Arn"}}, "FnB", "Properties", "Role")
		}, "functions FnA and FnB share the role RoleA"},
		{"a role not of the stack", func(res map[string]any) {
			set(t, res, "arn:aws:iam::123456789012:role/admin", "FnB", "Properties", "Role")
		}, "function FnB: Role arn:aws:iam::123456789012:role/admin is not a role of the stack"},
		{"a wildcard action", func(res map[string]any) {
			set(t, res, []any{"dynamodb:GetItem", "dynamodb:*"}, "PolicyA", "Properties", "PolicyDocument", "Statement", 0, "Action")
		}, "PolicyA: Allow dynamodb:*, a wildcard action"},
		{"every action", func(res map[string]any) {
			set(t, res, "*", "PolicyA", "Properties", "PolicyDocument", "Statement", 0, "Action")
		}, "PolicyA: Allow *, a wildcard action"},
		{"a wildcard action in an inline policy", func(res map[string]any) {
			set(t, res, []any{map[string]any{"PolicyDocument": map[string]any{"Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}}}}}, "RoleB", "Properties", "Policies")
		}, "RoleB (inline): Allow s3:Get*, a wildcard action"},
		{"a wildcard Deny not about TLS", func(res map[string]any) {
			set(t, res, nil, "QueuePolicy", "Properties", "PolicyDocument", "Statement", 0, "Condition")
		}, "QueuePolicy: Deny sqs:*, a wildcard action"},
		{"NotAction", func(res map[string]any) {
			set(t, res, map[string]any{"Effect": "Allow", "NotAction": "iam:*", "Resource": "x"}, "PolicyA", "Properties", "PolicyDocument", "Statement", 0)
		}, "PolicyA: NotAction NotAction:iam:*"},
		{"Resource * not listed", func(res map[string]any) {
			set(t, res, getItem, "PolicyA", "Properties", "PolicyDocument", "Statement")
		}, `PolicyA: dynamodb:GetItem on Resource "*", which is not listed with a reason`},
		{"a key policy granting another principal every action", func(res map[string]any) {
			res["Key"] = map[string]any{"Type": "AWS::KMS::Key", "Properties": map[string]any{"KeyPolicy": map[string]any{"Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "kms:*", "Principal": map[string]any{"AWS": "arn:aws:iam::999999999999:root"}, "Resource": "*"}}}}}
		}, "Key (key policy): Allow kms:*, a wildcard action"},
		{"API Gateway invoking another function", func(res map[string]any) {
			set(t, res, map[string]any{"Fn::GetAtt": []any{"FnB", "Arn"}}, "ApiPermission", "Properties", "FunctionName")
		}, "ApiPermission: API Gateway may invoke FnB, not one of the API's functions [FnA]"},
		{"API Gateway of any API", func(res map[string]any) {
			set(t, res, nil, "ApiPermission", "Properties", "SourceArn")
		}, `ApiPermission: API Gateway may invoke FnA from "<nil>", not from this stack's HTTP API`},
		{"a rule invoking a function it does not target", func(res map[string]any) {
			set(t, res, map[string]any{"Fn::GetAtt": []any{"FnA", "Arn"}}, "RulePermission", "Properties", "FunctionName")
		}, `RulePermission: EventBridge may invoke FnA from "${Rule.Arn}", not a rule of the stack that targets it`},
		{"another principal", func(res map[string]any) {
			set(t, res, "s3.amazonaws.com", "RulePermission", "Properties", "Principal")
		}, "RulePermission: s3.amazonaws.com may invoke FnB"},
		{"a role invoking a function outside any schedule", func(res map[string]any) {
			set(t, res, []any{map[string]any{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": map[string]any{"Fn::GetAtt": []any{"FnB", "Arn"}}}},
				"PolicyA", "Properties", "PolicyDocument", "Statement")
		}, "PolicyA: role RoleA may invoke ${FnB.Arn}, not its schedules' target"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN the clean template with one breach
			raw := doctored(t, tt.change)
			// WHEN it is checked
			bad := checkPrivilege(raw, rules)
			// THEN the breach, and only it, is found
			if !slices.Equal(bad, []string{tt.want}) {
				t.Errorf("found %q, want %q", bad, tt.want)
			}
		})
	}

	// AND what the rules let through stays allowed: a listed action on
	// Resource "*", the account's key policy, a schedule's role
	raw := doctored(t, func(res map[string]any) {
		set(t, res, []any{map[string]any{"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}},
			"PolicyA", "Properties", "PolicyDocument", "Statement")
		res["Key"] = map[string]any{"Type": "AWS::KMS::Key", "Properties": map[string]any{"KeyPolicy": map[string]any{"Statement": []any{
			map[string]any{"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Principal": map[string]any{"AWS": map[string]any{
				"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::", map[string]any{"Ref": "AWS::AccountId"}, ":root"}}}}}}}}}
		res["Schedule"] = map[string]any{"Type": "AWS::Scheduler::Schedule", "Properties": map[string]any{"Target": map[string]any{
			"Arn": map[string]any{"Fn::GetAtt": []any{"FnB", "Arn"}}, "RoleArn": map[string]any{"Fn::GetAtt": []any{"RoleS", "Arn"}}}}}
		res["RoleS"] = map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{"Policies": []any{map[string]any{
			"PolicyDocument": map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "lambda:InvokeFunction",
				"Resource": []any{map[string]any{"Fn::GetAtt": []any{"FnB", "Arn"}},
					map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Fn::GetAtt": []any{"FnB", "Arn"}}, ":*"}}}}}}}}}}}
	})
	if bad := checkPrivilege(raw, rules); bad != nil {
		t.Errorf("allowed exceptions: %v", bad)
	}
}

// leadingKeyOperators are the operators the stack's conditions use, each
// on dynamodb:LeadingKeys only.
var leadingKeyOperators = []string{"ForAllValues:StringLike", "ForAllValues:StringNotLike", "ForAnyValue:StringLike"}

// leadingKeyConditions returns a condition's dynamodb:LeadingKeys
// patterns by operator, and whether the condition is only that: operators
// of leadingKeyOperators, each on dynamodb:LeadingKeys alone.
func leadingKeyConditions(cond any) (map[string][]string, bool) {
	c, _ := cond.(map[string]any)
	if len(c) == 0 {
		return nil, false
	}
	out := map[string][]string{}
	for op, v := range c {
		m, _ := v.(map[string]any)
		if !slices.Contains(leadingKeyOperators, op) || len(m) != 1 || m["dynamodb:LeadingKeys"] == nil {
			return nil, false
		}
		for _, p := range asList(m["dynamodb:LeadingKeys"]) {
			out[op] = append(out[op], fmt.Sprint(p))
		}
	}
	return out, true
}

// leadingKeys returns the dynamodb:LeadingKeys patterns of a condition
// under operator ("ForAllValues:StringLike"), and whether the condition
// has that operator and is only about dynamodb:LeadingKeys.
func leadingKeys(cond any, operator string) ([]string, bool) {
	ops, ok := leadingKeyConditions(cond)
	patterns, has := ops[operator]
	return patterns, ok && has
}

// tableStatements returns the statements of a role on the table.
func tableStatements(t *testing.T, raw map[string]any, role string) []statement {
	t.Helper()
	tableArn := tableArnOf(raw)
	var out []statement
	for _, st := range statements(raw) {
		if slices.Contains(st.roles, role) && slices.ContainsFunc(st.resources, func(r any) bool { return reflect.DeepEqual(r, tableArn) }) {
			out = append(out, st)
		}
	}
	return out
}

// tableArnOf is how policies name the table: its GetAtt, or the imported
// table's ARN.
func tableArnOf(raw map[string]any) any {
	for id := range resources(raw, "AWS::DynamoDB::Table") {
		return getAtt(id, "Arn")
	}
	return nil
}

// authorized evaluates a DynamoDB request (an action on the table, naming
// these partition keys) against a role's statements on the table as IAM
// does: an explicit Deny wins, else an Allow is needed. It understands the
// conditions the stack uses and fails the test on any other.
func authorized(t *testing.T, sts []statement, action string, keys ...string) bool {
	t.Helper()
	applies := func(st statement) bool {
		if !slices.ContainsFunc(st.actions, func(a string) bool { return iam.StringLike(a, action) }) {
			return false
		}
		if st.condition == nil {
			return true
		}
		ops, ok := leadingKeyConditions(st.condition)
		if !ok {
			t.Fatalf("%s: condition %v not understood", st.where, st.condition)
		}
		// Operators are ANDed; a negated one's patterns NORed.
		for op, patterns := range ops {
			like := func(k string) bool {
				return slices.ContainsFunc(patterns, func(p string) bool { return iam.StringLike(p, k) })
			}
			var holds bool
			switch op {
			case "ForAllValues:StringLike":
				holds = !slices.ContainsFunc(keys, func(k string) bool { return !like(k) })
			case "ForAllValues:StringNotLike":
				holds = !slices.ContainsFunc(keys, like)
			case "ForAnyValue:StringLike":
				holds = slices.ContainsFunc(keys, like)
			}
			if !holds {
				return false
			}
		}
		return true
	}
	allowed := false
	for _, st := range sts {
		if applies(st) {
			if st.effect == "Deny" {
				return false
			}
			allowed = true
		}
	}
	return allowed
}

// Partition keys as the store makes them, one of each family, for a shop
// of shop.NewID's form.
const sampleShop = "shop_k3j5x7q2m9ab"

var samplePartitions = map[string]string{
	store.PartitionShopList:       "SHOPS",
	store.PartitionShop:           "SHOP#" + sampleShop,
	store.PartitionAPIKey:         "APIKEY#k3j5x7q2m9abcdef",
	store.PartitionOrder:          "SHOP#" + sampleShop + "#ORDER#AbCdEf012-_x",
	store.PartitionWebhook:        "SHOP#" + sampleShop + "#WEBHOOK#n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg",
	store.PartitionCustomers:      "SHOP#" + sampleShop + "#CUSTOMERS#07",
	store.PartitionRuns:           "SHOP#" + sampleShop + "#RUNS",
	store.PartitionRun:            "SHOP#" + sampleShop + "#RUN#2026-05-01",
	store.PartitionDays:           "SHOP#" + sampleShop + "#DAYS",
	store.PartitionSuppressed:     "SHOP#" + sampleShop + "#SUPPRESSED",
	store.PartitionCampaignConfig: "SHOP#" + sampleShop + "#CAMPAIGN_CONFIG",
	store.PartitionCampaigns:      "SHOP#" + sampleShop + "#CAMPAIGNS",
	store.PartitionRecipients:     "SHOP#" + sampleShop + "#CAMPAIGN#2026-05-01#0c",
	store.PartitionCoupon:         "SHOP#" + sampleShop + "#COUPON#WB-ABCD-EFGH",
	store.PartitionContacts:       "SHOP#" + sampleShop + "#CONTACTS#07",
	store.PartitionConfig:         "CONFIG",
}

// tableAccess is what a role may do on the table: by action, the families
// it may do it on.
func tableAccess(t *testing.T, sts []statement) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, action := range append(slices.Clone(itemActions), unkeyedActions...) {
		for family, pk := range samplePartitions {
			if authorized(t, sts, action, pk) {
				out[action] = append(out[action], family)
			}
		}
		slices.Sort(out[action])
	}
	return out
}

// everyFamily is every partition family.
func everyFamily() []string {
	var all []string
	for f := range samplePartitions {
		all = append(all, f)
	}
	slices.Sort(all)
	return all
}

func except(all []string, some ...string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(f string) bool { return slices.Contains(some, f) })
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestTableAccessOfEachFunction(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	all := everyFamily()
	ingests := sorted(store.PartitionOrder, store.PartitionCustomers, store.PartitionWebhook)
	mine := sorted(store.PartitionShop, store.PartitionCampaigns, store.PartitionRecipients)

	// THEN each function may do on the table what its code calls, where
	// access.go says, and nothing else: by action, the partition
	// families it may do it on
	for name, want := range map[string]map[string][]string{
		"ingest": {actGetItem: sorted(store.PartitionAPIKey, store.PartitionShop), actBatchGetItem: ingests, actPutItem: ingests,
			actDeleteItem: ingests},
		"api": {actGetItem: all, actBatchGetItem: all, actQuery: all, actPutItem: all, actUpdateItem: all,
			actDeleteItem: all, actBatchWriteItem: all},
		"nightly": {actGetItem: sorted(store.PartitionShopList, store.PartitionShop, store.PartitionRuns),
			actQuery:   sorted(store.PartitionShopList, store.PartitionShop, store.PartitionRuns),
			actPutItem: {store.PartitionRuns}, actUpdateItem: {store.PartitionRuns}},
		"score":      {actGetItem: all, actBatchGetItem: all, actQuery: all, actPutItem: all, actUpdateItem: all, actBatchWriteItem: all},
		"send":       {actGetItem: all, actQuery: all, actPutItem: {store.PartitionConfig}, actUpdateItem: all},
		"mailevents": {actGetItem: mine, actUpdateItem: mine, actPutItem: sorted(store.PartitionSuppressed, store.PartitionCampaigns)},
	} {
		role := roleOf(t, raw, functionID(t, raw, name))
		got := tableAccess(t, tableStatements(t, raw, role))
		for action, families := range got {
			if len(families) == 0 {
				delete(got, action)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s may\n%v\nwant\n%v", name, got, want)
		}
	}
}

func TestNoScanUnderALeadingKeysCondition(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN no Allow limited by partition key names an action that names
	// none (a Scan would satisfy ForAllValues vacuously: the whole table)
	for _, st := range statements(raw) {
		ops, _ := leadingKeyConditions(st.condition)
		_, all := ops["ForAllValues:StringLike"]
		_, none := ops["ForAllValues:StringNotLike"]
		if st.effect != "Allow" || !all && !none {
			continue
		}
		for _, act := range st.actions {
			if !slices.Contains(itemActions, act) {
				t.Errorf("%s: %s under %v", st.where, act, st.condition)
			}
		}
	}
}

func TestIngestCannotReadCampaignDataOrSendMail(t *testing.T) {
	// GIVEN the synthesized stack and the ingest function's role
	_, raw := template(t)
	role := roleOf(t, raw, functionID(t, raw, "ingest"))
	sts := tableStatements(t, raw, role)

	// THEN its role denies every item action on every campaign family,
	// and every unkeyed action (Scan, PartiQL), whatever else allows
	var denied []string
	for _, st := range sts {
		if st.effect != "Deny" {
			continue
		}
		if patterns, ok := leadingKeys(st.condition, "ForAnyValue:StringLike"); ok {
			if !slices.Equal(sorted(st.actions...), sorted(itemActions...)) {
				t.Errorf("%s: denies %v on campaign data, want every item action %v", st.where, st.actions, itemActions)
			}
			denied = append(denied, patterns...)
		} else if st.condition == nil && !slices.Equal(sorted(st.actions...), sorted(unkeyedActions...)) {
			t.Errorf("%s: denies %v outright, want the unkeyed actions %v", st.where, st.actions, unkeyedActions)
		}
	}
	if !slices.Equal(sorted(denied...), sorted(store.CampaignPartitions()...)) {
		t.Errorf("ingest is denied %v, want the campaign families %v", denied, store.CampaignPartitions())
	}
	// AND a request naming campaign data is refused even among its own
	// partitions, as an allow-everything statement would not change
	everything := append(slices.Clone(sts), statement{effect: "Allow", actions: []string{"dynamodb:*"}})
	for _, family := range store.CampaignPartitions() {
		for _, action := range []string{actGetItem, actQuery, actBatchGetItem, actPutItem, actUpdateItem, actDeleteItem, actBatchWriteItem} {
			if authorized(t, everything, action, samplePartitions[store.PartitionCustomers], samplePartitions[family]) {
				t.Errorf("ingest may %s on %s", action, family)
			}
		}
	}
	for _, action := range unkeyedActions {
		if authorized(t, everything, action) {
			t.Errorf("ingest may %s", action)
		}
	}
	// AND what it needs stays allowed: the shop, the key, a group's
	// summaries, orders and webhook id, in one batch and one transaction
	group := []string{samplePartitions[store.PartitionCustomers], samplePartitions[store.PartitionOrder],
		samplePartitions[store.PartitionWebhook]}
	if !authorized(t, sts, actBatchGetItem, group...) || !authorized(t, sts, actGetItem, samplePartitions[store.PartitionAPIKey]) ||
		!authorized(t, sts, actGetItem, samplePartitions[store.PartitionShop]) {
		t.Error("ingest may not read what it ingests with")
	}
	for _, pk := range group {
		if !authorized(t, sts, actPutItem, pk) {
			t.Errorf("ingest may not write %s", pk)
		}
	}
	// AND a webhook's malformed ?shop= id is a shop partition it may look
	// up (and find missing), not a refusal
	if !authorized(t, sts, actGetItem, "SHOP#nosuch") || authorized(t, sts, actGetItem, "SHOP#nosuch#RUNS") {
		t.Error("ingest may not look up a malformed shop id, or may read a partition below one")
	}

	// AND it may do nothing with SES, nor reach the send queue
	sendQueue := getAtt(queueID(t, raw, "SendQueue"), "Arn")
	for _, st := range statements(raw) {
		if !slices.Contains(st.roles, role) {
			continue
		}
		for _, act := range st.actions {
			if strings.HasPrefix(strings.ToLower(act), "ses:") || strings.HasPrefix(strings.ToLower(act), "sesv2:") {
				t.Errorf("%s: ingest may %s", st.where, act)
			}
		}
		if slices.ContainsFunc(st.resources, func(r any) bool { return reflect.DeepEqual(r, sendQueue) }) {
			t.Errorf("%s: ingest may %v on the send queue", st.where, st.actions)
		}
	}
}

// ingestWrites are the families the ingest function writes: orders,
// summaries (deleting a guest's emptied one) and webhook ids.
var ingestWrites = []string{store.PartitionOrder, store.PartitionCustomers, store.PartitionWebhook}

// writesBeyond lists each write the statements allow outside families:
// on a partition of every other family, and on keys of none.
func writesBeyond(t *testing.T, sts []statement, families []string) []string {
	t.Helper()
	keys := map[string]string{"no family": "OTHER#1", "a malformed shop id": "SHOP#nosuch"}
	for family, pk := range samplePartitions {
		if !slices.Contains(families, family) {
			keys[family] = pk
		}
	}
	var bad []string
	for _, action := range []string{actPutItem, actUpdateItem, actDeleteItem, actBatchWriteItem} {
		for what, pk := range keys {
			if authorized(t, sts, action, pk) {
				bad = append(bad, action+" on "+what)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestIngestWritesOnlyWhatItIngests(t *testing.T) {
	// GIVEN the synthesized stack and the ingest function's role
	_, raw := template(t)
	role := roleOf(t, raw, functionID(t, raw, "ingest"))

	// THEN it may write orders, summaries and webhook ids, and nothing
	// else: no API key, shop, shop index, run, KPI day or token key
	if bad := writesBeyond(t, tableStatements(t, raw, role), ingestWrites); bad != nil {
		t.Errorf("ingest may write beyond what it ingests: %v", bad)
	}

	// AND the check sees a table-wide PutItem put back into its policy:
	// every family but its own and the denied campaign data
	var doctoredRaw map[string]any
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &doctoredRaw)
	}
	if err != nil {
		t.Fatal(err)
	}
	added := false
	for _, pol := range resources(doctoredRaw, "AWS::IAM::Policy") {
		if !slices.ContainsFunc(asList(props(pol)["Roles"]), func(r any) bool { return reflect.DeepEqual(r, map[string]any{"Ref": role}) }) {
			continue
		}
		doc := props(pol)["PolicyDocument"].(map[string]any)
		doc["Statement"] = append(asList(doc["Statement"]),
			map[string]any{"Effect": "Allow", "Action": actPutItem, "Resource": tableArnOf(doctoredRaw)})
		added = true
		break
	}
	if !added {
		t.Fatal("no policy of the ingest role")
	}
	want := []string{actPutItem + " on no family", actPutItem + " on a malformed shop id"}
	for _, family := range except(everyFamily(), append(slices.Clone(ingestWrites), store.CampaignPartitions()...)...) {
		want = append(want, actPutItem+" on "+family)
	}
	slices.Sort(want)
	if got := writesBeyond(t, tableStatements(t, doctoredRaw, role), ingestWrites); !slices.Equal(got, want) {
		t.Errorf("with a table-wide PutItem, found\n%v\nwant\n%v", got, want)
	}
}

func TestOnlyTheAPIFunctionsAreInvokedByAPIGateway(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	ingest, apiFn := functionID(t, raw, "ingest"), functionID(t, raw, "api")

	// THEN API Gateway's permissions are the ingest and api functions',
	// one per route, from this stack's API (checkPrivilege refuses any
	// other function or source)
	per := map[string]int{}
	for _, perm := range resources(raw, "AWS::Lambda::Permission") {
		if p := props(perm); p["Principal"] == "apigateway.amazonaws.com" {
			per[functionOf(p["FunctionName"])]++
		}
	}
	routes := map[string]int{}
	for _, r := range resources(raw, "AWS::ApiGatewayV2::Route") {
		key, _ := props(r)["RouteKey"].(string)
		if strings.HasPrefix(key, "POST /v1/orders") || strings.HasPrefix(key, "POST /v1/webhooks/") {
			routes[ingest]++
		} else {
			routes[apiFn]++
		}
	}
	if !reflect.DeepEqual(per, routes) {
		t.Errorf("API Gateway's permissions by function %v, want one per route %v", per, routes)
	}
}
