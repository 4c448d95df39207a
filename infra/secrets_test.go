package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/winback/winback/shared/secrets"
)

// TestSecretsKey: GIVEN the stack, THEN it has one KMS key that rotates
// its material, outlives the stack, has the stage's alias and is an output
// for the CLI.
func TestSecretsKey(t *testing.T) {
	_, raw := template(t)
	keyID := onlyID(t, raw, "AWS::KMS::Key")
	key := resources(raw, "AWS::KMS::Key")[keyID]
	p := props(key)
	if p["EnableKeyRotation"] != true {
		t.Errorf("EnableKeyRotation = %v, want true", p["EnableKeyRotation"])
	}
	if key["DeletionPolicy"] != "Retain" || key["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("DeletionPolicy %v, UpdateReplacePolicy %v: want Retain (a deleted key makes every sealed secret unreadable)",
			key["DeletionPolicy"], key["UpdateReplacePolicy"])
	}
	if d, _ := p["Description"].(string); !strings.Contains(d, "webhook secrets") || !strings.Contains(d, "token keys") {
		t.Errorf("Description %q", d)
	}
	if p["KeySpec"] != nil && p["KeySpec"] != "SYMMETRIC_DEFAULT" {
		t.Errorf("KeySpec %v, want a symmetric key (GenerateDataKey)", p["KeySpec"])
	}
	aliasID := onlyID(t, raw, "AWS::KMS::Alias")
	alias := props(resources(raw, "AWS::KMS::Alias")[aliasID])
	if alias["AliasName"] != "alias/winback-prod-secrets" || !reflect.DeepEqual(alias["TargetKeyId"], getAtt(keyID, "Arn")) {
		t.Errorf("alias %v", alias)
	}
	outputs, _ := raw["Outputs"].(map[string]any)
	out, _ := outputs["KmsKeyArn"].(map[string]any)
	if !reflect.DeepEqual(out["Value"], getAtt(keyID, "Arn")) {
		t.Errorf("output KmsKeyArn = %v, want the key's ARN", out)
	}
}

// TestSecretsAccess: GIVEN the stack, THEN only the functions that open
// secrets may use the key, each for its purposes only, and only the ones
// that may make the first token key may generate data keys; exactly those
// are told the key (WINBACK_KMS_KEY_ID).
func TestSecretsAccess(t *testing.T) {
	_, raw := template(t)
	keyID := onlyID(t, raw, "AWS::KMS::Key")
	want := map[string]struct {
		actions []string
		purpose string
	}{
		"ingest": {[]string{"kms:Decrypt"}, secrets.PurposeWebhookSecret},
		"api":    {[]string{"kms:Decrypt", "kms:GenerateDataKey"}, secrets.PurposeTokenKey},
		"send":   {[]string{"kms:Decrypt", "kms:GenerateDataKey"}, secrets.PurposeTokenKey},
	}
	roleFn := map[string]string{}
	for _, name := range []string{"ingest", "api", "send", "nightly", "score", "mailevents"} {
		fnID := functionID(t, raw, name)
		roleFn[roleOf(t, raw, fnID)] = name
		env := envOf(raw, fnID)
		if _, ok := want[name]; ok {
			if !reflect.DeepEqual(env[secrets.KeyIDEnv], getAtt(keyID, "Arn")) {
				t.Errorf("%s: %s = %v, want the key's ARN", name, secrets.KeyIDEnv, env[secrets.KeyIDEnv])
			}
		} else if v, ok := env[secrets.KeyIDEnv]; ok {
			t.Errorf("%s needs no key but is told %s = %v", name, secrets.KeyIDEnv, v)
		}
	}

	got := map[string][]allowed{}
	for _, st := range roleStatements(raw) {
		if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(strings.ToLower(a), "kms:") }) {
			continue
		}
		for _, role := range st.roles {
			name, ok := roleFn[role]
			if !ok {
				name = role
			}
			got[name] = append(got[name], st)
		}
	}
	for name, st := range got {
		w, ok := want[name]
		if !ok {
			t.Errorf("%s may use KMS: %+v", name, st)
			continue
		}
		if len(st) != 1 {
			t.Errorf("%s: %d KMS statements, want 1: %+v", name, len(st), st)
			continue
		}
		s := st[0]
		actions := slices.Sorted(slices.Values(s.actions))
		if !reflect.DeepEqual(actions, w.actions) {
			t.Errorf("%s: KMS actions %v, want %v", name, actions, w.actions)
		}
		if !reflect.DeepEqual(s.resources, []any{getAtt(keyID, "Arn")}) {
			t.Errorf("%s: KMS resources %v, want the key only", name, s.resources)
		}
		cond := map[string]any{"StringEquals": map[string]any{contextPurpose: []any{w.purpose}}}
		if !reflect.DeepEqual(s.condition, cond) {
			t.Errorf("%s: condition %v, want %v", name, s.condition, cond)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s may not use the key", name)
		}
	}
}
