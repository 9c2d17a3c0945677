// Package analyze checks lockgate analyze against DuckDB: on generated
// AWS WAF logs every list of the report equals DuckDB's answer to the SQL
// lockgate analyze sql --engine duckdb prints, and the benchmarks compare
// their throughput on the same files in the same run.
//
//	cd bench && go test ./analyze/
//	cd bench && ANALYZE_BENCH_SIZE=2GB go test -run '^$' -bench . -benchtime 3x ./analyze/
package analyze
