package webacl

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/waf"
)

// With a City database the engine adds AWS's country and region labels to
// every request it inspects, and rules match them.
//
// AWS WAF API Reference, GeoMatchStatement: "A geo match rule labels
// every request that it inspects regardless of whether it finds a match."
// "If you use the web request origin, the label formats are
// awswaf:clientip:geo:region:<ISO country code>-<ISO region code> and
// awswaf:clientip:geo:country:<ISO country code>."
func TestRegionLabelsFromACityDatabase(t *testing.T) {
	db, probs := geo.Provision(geo.Config{DatabaseFile: config.Path(geotest.Write(t, geotest.City, geotest.Records))}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	set, probs := Provision(Config{}, db)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	acl := filepath.Join(t.TempDir(), "acl.json")
	os.WriteFile(acl, []byte(`{"Name":"geo","DefaultAction":{"Allow":{}},
"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"geo"},
"Rules":[
 {"Name":"us","Priority":0,"Action":{"Count":{}},"Statement":{"GeoMatchStatement":{"CountryCodes":["US"]}},
  "VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"us"}},
 {"Name":"no-california","Priority":1,"Action":{"Block":{}},
  "Statement":{"LabelMatchStatement":{"Scope":"LABEL","Key":"awswaf:clientip:geo:region:US-CA"}},
  "VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"ca"}}]}`), 0o600)
	_, eng, err := set.Compile(acl, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip, action string
		labels     []string
	}{
		{"8.8.8.8", "BLOCK", []string{"awswaf:clientip:geo:country:US", "awswaf:clientip:geo:region:US-CA"}},
		{"81.2.69.160", "ALLOW", []string{"awswaf:clientip:geo:country:GB", "awswaf:clientip:geo:region:GB-ENG"}},
		{"1.1.1.1", "ALLOW", []string{"awswaf:clientip:geo:country:AU"}}, // no region in the database
	} {
		d := eng.Evaluate(context.Background(), &waf.Request{ClientIP: netip.MustParseAddr(tc.ip), Method: "GET", URI: "/"})
		if d.Action != tc.action {
			t.Errorf("%s: %s, want %s", tc.ip, d.Action, tc.action)
		}
		for _, l := range tc.labels {
			if !slices.Contains(d.Labels, l) {
				t.Errorf("%s: labels %v lack %s", tc.ip, d.Labels, l)
			}
		}
		if tc.ip == "1.1.1.1" && slices.ContainsFunc(d.Labels, func(l string) bool { return len(l) > 25 && l[:26] == "awswaf:clientip:geo:region" }) {
			t.Errorf("a region label without a region: %v", d.Labels)
		}
	}
}
