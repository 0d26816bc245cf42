package groups_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/schema"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(schema.Group, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
	}
	return s
}

// deref follows a local "$ref" (#/$defs/x).
func deref(t *testing.T, root, node map[string]any) map[string]any {
	t.Helper()
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		t.Fatalf("unsupported $ref %q", ref)
	}
	def, ok := root["$defs"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("$ref %q points nowhere", ref)
	}
	return def
}

// TestSchemaMatchesStruct walks the yaml tags of Group and the properties
// of the schema together and fails on any field in one and not the other,
// at every level, and on required fields that differ from the tags without
// omitempty.
func TestSchemaMatchesStruct(t *testing.T) {
	root := loadSchema(t)
	compareObject(t, root, root, reflect.TypeOf(groups.Group{}), "group")
}

func compareObject(t *testing.T, root, node map[string]any, typ reflect.Type, path string) {
	node = deref(t, root, node)
	if node["type"] != "object" || node["additionalProperties"] != false {
		t.Errorf("%s: schema must be an object with additionalProperties false", path)
	}
	props, _ := node["properties"].(map[string]any)
	var required []string
	for _, r := range node["required"].([]any) {
		required = append(required, r.(string))
	}
	var wantRequired []string
	seen := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		seen[name] = true
		if !strings.Contains(opts, "omitempty") {
			wantRequired = append(wantRequired, name)
		}
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("%s.%s is in the Go struct but not in the schema", path, name)
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}):
			compareObject(t, root, p, ft, path+"."+name)
		case ft.Kind() == reflect.Slice:
			p = deref(t, root, p)
			items, ok := p["items"].(map[string]any)
			if p["type"] != "array" || !ok {
				t.Errorf("%s.%s: schema must be an array with items", path, name)
				continue
			}
			if ft.Elem().Kind() == reflect.String {
				if items["type"] != "string" {
					t.Errorf("%s.%s: schema items must be strings", path, name)
				}
				continue
			}
			compareObject(t, root, items, ft.Elem(), path+"."+name+"[]")
		}
	}
	for name := range props {
		if !seen[name] {
			t.Errorf("%s.%s is in the schema but not in the Go struct", path, name)
		}
	}
	sort.Strings(required)
	sort.Strings(wantRequired)
	if !slices.Equal(required, wantRequired) {
		t.Errorf("%s: schema requires %v, the Go struct (tags without omitempty) %v", path, required, wantRequired)
	}
}

func TestSchemaEnums(t *testing.T) {
	root := loadSchema(t)
	dest := deref(t, root, root["$defs"].(map[string]any)["destination"].(map[string]any))
	props := dest["properties"].(map[string]any)
	for field, want := range map[string][]string{
		"type":     {groups.DestLocal, groups.DestExisting, groups.DestNew},
		"software": {groups.SoftwareGoToSocial, groups.SoftwareMastodon},
		"cloud":    {groups.CloudHetzner},
	} {
		var got []string
		for _, v := range props[field].(map[string]any)["enum"].([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("destination.%s enum = %v, want %v", field, got, want)
		}
	}
}

// TestSchemaAgreesWithParse validates files against the schema with a
// small validator for the keywords the schema uses: the examples and the
// valid test files must pass; test files with problems the schema can
// express must fail.
func TestSchemaAgreesWithParse(t *testing.T) {
	root := loadSchema(t)
	valid, _ := filepath.Glob("../examples/*.yaml")
	more, _ := filepath.Glob("testdata/valid-*.yaml")
	valid = append(valid, more...)
	for _, path := range valid {
		if errs := validateFile(t, root, path); len(errs) > 0 {
			t.Errorf("%s: schema rejects a valid file: %v", path, errs)
		}
	}
	// Problems that need more than one field at a time (duplicates,
	// viable_mass against the member count) are beyond a schema.
	for _, name := range []string{
		"unknown-fields", "wrong-types", "version-2", "name-not-slug", "name-too-long",
		"lead-email-bad", "username-bad", "viable-mass-low", "dest-unknown-type",
		"existing-no-server", "existing-bad-server", "new-missing", "new-bad-values",
		"local-not-allowed", "deadline-words", "launch-at-no-zone", "launch-at-date", "tags-bad", "tags-not-list", "members-empty", "members-missing", "names-missing",
	} {
		if errs := validateFile(t, root, "testdata/"+name+".yaml"); len(errs) == 0 {
			t.Errorf("%s: the schema accepts a file lifeboat check rejects", name)
		}
	}
}

func validateFile(t *testing.T, root map[string]any, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return validate(t, root, root, jsonish(doc), "")
}

// jsonish turns decoded YAML into the values encoding/json would produce.
func jsonish(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonish(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = jsonish(x)
		}
		return v
	case int:
		return float64(v)
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.RFC3339)
	}
	return v
}

func validate(t *testing.T, root, s map[string]any, v any, at string) []string {
	s = deref(t, root, s)
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, a...)) }
	for key, want := range s {
		switch key {
		case "type":
			ok := false
			switch want {
			case "object":
				_, ok = v.(map[string]any)
			case "array":
				_, ok = v.([]any)
			case "string":
				_, ok = v.(string)
			case "integer":
				f, isNum := v.(float64)
				ok = isNum && f == float64(int64(f))
			}
			if !ok {
				fail("not %v", want)
			}
		case "const":
			if v != want {
				fail("not %v", want)
			}
		case "enum":
			if !slices.Contains(want.([]any), v) {
				fail("not one of %v", want)
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(want.(string)).MatchString(str) {
				fail("%q does not match %s", str, want)
			}
		case "minLength":
			if str, ok := v.(string); ok && len(str) < int(want.(float64)) {
				fail("too short")
			}
		case "minimum":
			if f, ok := v.(float64); ok && f < want.(float64) {
				fail("below %v", want)
			}
		case "minItems":
			if a, ok := v.([]any); ok && len(a) < int(want.(float64)) {
				fail("too few items")
			}
		case "maxItems":
			if a, ok := v.([]any); ok && len(a) > int(want.(float64)) {
				fail("too many items")
			}
		case "maxLength":
			if str, ok := v.(string); ok && len(str) > int(want.(float64)) {
				fail("too long")
			}
		case "uniqueItems":
			if a, ok := v.([]any); ok && want == true {
				for i := range a {
					if slices.Contains(a[:i], a[i]) {
						fail("%v repeated", a[i])
					}
				}
			}
		case "items":
			if a, ok := v.([]any); ok {
				for i, x := range a {
					errs = append(errs, validate(t, root, want.(map[string]any), x, fmt.Sprintf("%s[%d]", at, i))...)
				}
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, r := range want.([]any) {
					if _, has := m[r.(string)]; !has {
						fail("missing %v", r)
					}
				}
			}
		case "properties":
			if m, ok := v.(map[string]any); ok {
				props := want.(map[string]any)
				for k, x := range m {
					if p, ok := props[k]; ok {
						errs = append(errs, validate(t, root, p.(map[string]any), x, at+"."+k)...)
					} else if s["additionalProperties"] == false {
						fail("unknown field %s", k)
					}
				}
			}
		case "anyOf":
			ok := false
			for _, sub := range want.([]any) {
				if len(validate(t, root, sub.(map[string]any), v, at)) == 0 {
					ok = true
				}
			}
			if !ok {
				fail("matches none of anyOf")
			}
		case "allOf":
			for _, sub := range want.([]any) {
				errs = append(errs, validate(t, root, sub.(map[string]any), v, at)...)
			}
		case "not":
			if len(validate(t, root, want.(map[string]any), v, at)) == 0 {
				fail("matches a schema it must not")
			}
		case "if":
			if len(validate(t, root, want.(map[string]any), v, at)) == 0 {
				if then, ok := s["then"].(map[string]any); ok {
					errs = append(errs, validate(t, root, then, v, at)...)
				}
			}
		case "then", "additionalProperties", "description", "title", "format", "$ref", "$schema", "$id", "$defs":
		default:
			t.Fatalf("%s: schema keyword %q is not understood by this test", at, key)
		}
	}
	return errs
}
