// Package kubernetes holds lockgate's Kubernetes manifests and the test
// that decodes them strictly with the Kubernetes API types. It is a module
// of its own so that lockgate does not depend on k8s.io; .ci/run tests it.
package kubernetes
