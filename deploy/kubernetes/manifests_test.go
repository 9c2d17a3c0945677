package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// manifests is every object of the directory, decoded strictly.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	secrets     []*corev1.Secret
	claims      []*corev1.PersistentVolumeClaim
}

// decode reads one YAML document into the API type its apiVersion and
// kind name. Strict: an unknown or duplicate field, or a value of the
// wrong type, is an error (a misspelt readinessProbe would otherwise be
// dropped without a word by kubectl's client-side decoding).
func (m *manifests) decode(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		d := &appsv1.Deployment{}
		m.deployments, obj = append(m.deployments, d), d
	case "v1 Service":
		s := &corev1.Service{}
		m.services, obj = append(m.services, s), s
	case "v1 Secret":
		s := &corev1.Secret{}
		m.secrets, obj = append(m.secrets, s), s
	case "v1 PersistentVolumeClaim":
		c := &corev1.PersistentVolumeClaim{}
		m.claims, obj = append(m.claims, c), c
	default:
		return fmt.Errorf("apiVersion %q kind %q: not a kind this test knows; add it", tm.APIVersion, tm.Kind)
	}
	return yaml.UnmarshalStrict(doc, obj)
}

func documents(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// load decodes the files kustomization.yaml lists, and checks that it
// lists every manifest of the directory (kubectl apply -k applies them).
func load(t *testing.T) *manifests {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %v (kind %q)", err, k.Kind)
	}
	files, _ := filepath.Glob("*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	listed := slices.Clone(k.Resources)
	sort.Strings(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("kustomization.yaml lists %v; the directory has %v", listed, files)
	}
	m := &manifests{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(data) {
			if err := m.decode(doc); err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

// The decoder refuses what it should, or TestManifests proves nothing.
func TestDecodeIsStrict(t *testing.T) {
	good, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"misspelt field", "readinessProbe:", "readinesProbe:", `unknown field "readinesProbe"`},
		{"wrong type", "replicas: 1", "replicas: one", "cannot unmarshal"},
		{"bad quantity", "memory: 512Mi", "memory: lots", "quantities must match"},
		{"unknown kind", "kind: Deployment", "kind: Deploymnet", "not a kind this test knows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(bad, good) {
				t.Fatalf("deployment.yaml has no %q", tc.from)
			}
			err := (&manifests{}).decode(bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestManifests(t *testing.T) {
	m := load(t)
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.secrets) != 1 || len(m.claims) != 1 {
		t.Fatalf("want one Deployment, Service, Secret and PersistentVolumeClaim; have %d, %d, %d, %d",
			len(m.deployments), len(m.services), len(m.secrets), len(m.claims))
	}
	d, svc, secret, claim := m.deployments[0], m.services[0], m.secrets[0], m.claims[0]
	for _, name := range []string{d.Name, svc.Name, secret.Name, claim.Name} {
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("name %q: %v", name, errs)
		}
	}

	pod := d.Spec.Template
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labelSet(pod.Labels)) {
		t.Errorf("the Deployment's selector %v does not select its pods %v (%v)", d.Spec.Selector, pod.Labels, err)
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("the Service selects %s=%s; the pods have %v", k, v, pod.Labels)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if listen := env["LOCKGATE_LISTEN"]; !strings.HasSuffix(listen, fmt.Sprintf(":%d", ports["http"])) || !strings.HasPrefix(listen, "0.0.0.0:") {
		t.Errorf("LOCKGATE_LISTEN %q: want 0.0.0.0 on the http port %d (the kubelet probes the pod's IP)", listen, ports["http"])
	}

	// Probes: /healthz says the process is up, /readyz that storage answers.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startupProbe", c.StartupProbe, "/healthz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet on %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: path %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if _, ok := ports[p.probe.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s: port %q is not a container port %v", p.name, p.probe.HTTPGet.Port.String(), ports)
		}
	}
	for _, sp := range svc.Spec.Ports {
		if _, ok := ports[sp.TargetPort.String()]; !ok {
			t.Errorf("Service port %q targets %q, not a container port %v", sp.Name, sp.TargetPort.String(), ports)
		}
	}

	// Non-root as the image's own user, read-only root, nothing to escalate.
	psc, csc := pod.Spec.SecurityContext, c.SecurityContext
	if psc == nil || csc == nil {
		t.Fatal("want pod and container securityContexts")
	}
	if uid := dockerfileUID(t); psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != uid {
		t.Errorf("pod runs as %v (runAsNonRoot %v); want non-root, the Dockerfile's USER %d", deref(psc.RunAsUser), deref(psc.RunAsNonRoot), uid)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %v, want RuntimeDefault", psc.SeccompProfile)
	}
	if deref(csc.ReadOnlyRootFilesystem) != true || deref(csc.AllowPrivilegeEscalation) != false || csc.AllowPrivilegeEscalation == nil || deref(csc.Privileged) {
		t.Errorf("container securityContext: readOnlyRootFilesystem %v, allowPrivilegeEscalation %v, privileged %v",
			deref(csc.ReadOnlyRootFilesystem), deref(csc.AllowPrivilegeEscalation), deref(csc.Privileged))
	}
	if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %v: want drop ALL, add none", csc.Capabilities)
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("lockgate does not call the Kubernetes API: automountServiceAccountToken: false")
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}

	// The master key comes from the Secret; the data from the claim.
	fromSecret := false
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == secret.Name {
			fromSecret = true
		}
	}
	if _, ok := secret.StringData["LOCKGATE_MASTER_KEY"]; !fromSecret || !ok {
		t.Errorf("want LOCKGATE_MASTER_KEY from Secret %q through envFrom", secret.Name)
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = vm.Name
	}
	dataVolume, ok := mounts[env["LOCKGATE_DATA_DIR"]]
	if !ok {
		t.Fatalf("LOCKGATE_DATA_DIR %q is not a mounted volume (the root file system is read-only)", env["LOCKGATE_DATA_DIR"])
	}
	var claimName string
	for _, v := range pod.Spec.Volumes {
		if v.Name == dataVolume && v.PersistentVolumeClaim != nil {
			claimName = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claimName != claim.Name {
		t.Errorf("the data volume %q is claim %q, want %q", dataVolume, claimName, claim.Name)
	}
	// SQLite belongs to one machine, and a ReadWriteOnce volume to one node.
	if deref(d.Spec.Replicas) != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("SQLite on a claim: want replicas 1 and strategy Recreate, have %d and %q", deref(d.Spec.Replicas), d.Spec.Strategy.Type)
	}

	// Every LOCKGATE_ variable set is one lockgate reads.
	known := lockgateVariables(t)
	for name := range env {
		if strings.HasPrefix(name, "LOCKGATE_") && !known[name] {
			t.Errorf("env %s: lockgate reads no such variable", name)
		}
	}
	for name := range secret.StringData {
		if !known[name] {
			t.Errorf("Secret key %s: lockgate reads no such variable", name)
		}
	}
	for _, p := range placeholderProblems(secret.StringData) {
		t.Error(p)
	}
}

// placeholderProblems: every value the Secret ships must be a placeholder
// that can never be a working secret, so a line left unedited fails
// closed. A value holding a space is no admin token (lockgate refuses
// white space in tokens) and no base64 master key; one starting with
// REPLACE is also refused as a placeholder by name. The previous
// admin-token placeholder, 32 printable characters, was a valid token: an
// operator who replaced only the master key ran with it.
// cmd/lockgate's TestKubernetesManifestsConfigureLockgate runs lockgate's
// own loader on these values.
func placeholderProblems(data map[string]string) []string {
	var probs []string
	for name, v := range data {
		if !strings.HasPrefix(v, "REPLACE") || !strings.Contains(v, " ") {
			probs = append(probs, fmt.Sprintf("Secret key %s: placeholder %q must start with REPLACE and hold a space, so that it is no valid token or key", name, v))
		}
	}
	return probs
}

func TestPlaceholderProblems(t *testing.T) {
	for _, v := range []string{"REPLACE-with-openssl-rand-hex-32", "3f9c1e7a5b2d8046c1e9a7f35b2d8c4e"} {
		if len(placeholderProblems(map[string]string{"LOCKGATE_ADMIN_TOKEN": v})) == 0 {
			t.Errorf("%q passes as a placeholder, yet it is a valid admin token", v)
		}
	}
	if p := placeholderProblems(map[string]string{"LOCKGATE_ADMIN_TOKEN": "REPLACE with: openssl rand -hex 32"}); len(p) > 0 {
		t.Error(p)
	}
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// dockerfileUID is the numeric user the image runs as.
func dockerfileUID(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\d+)`).FindAllStringSubmatch(string(data), -1)
	if len(users) == 0 {
		t.Fatal("the Dockerfile has no numeric USER")
	}
	var uid int64
	fmt.Sscan(users[len(users)-1][1], &uid)
	return uid
}

// lockgateVariables is every LOCKGATE_ name in lockgate's Go sources.
func lockgateVariables(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	re := regexp.MustCompile(`"(LOCKGATE_[A-Z0-9_]+)"`)
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			known[m[1]] = true
		}
		// env:"LOCKGATE_X" struct tags
		for _, m := range regexp.MustCompile(`env:\\?"(LOCKGATE_[A-Z0-9_]+)`).FindAllStringSubmatch(string(src), -1) {
			known[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !known["LOCKGATE_MASTER_KEY"] {
		t.Fatalf("found no LOCKGATE_ variables in the sources (%d)", len(known))
	}
	return known
}
