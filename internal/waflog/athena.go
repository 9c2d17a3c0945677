package waflog

// AthenaDDL is AWS's documented Athena table for AWS WAF logs in Amazon S3,
// with partition projection, as the Amazon Athena User Guide gives it on
// "Create a table for AWS WAF S3 logs in Athena using partition
// projection" (https://docs.aws.amazon.com/athena/latest/ug/create-waf-table-partition-projection.html,
// reached from "Query AWS WAF logs"):
//
//	"Because AWS WAF logs have a known structure whose partition scheme you
//	can specify in advance, you can reduce query runtime and automate
//	partition management by using the Athena partition projection
//	feature."
//
//	"In the LOCATION and storage.location.template clauses, replace the
//	amzn-s3-demo-bucket and AWS_ACCOUNT_NUMBER placeholders with values
//	that identify the Amazon S3 bucket location of your AWS WAF logs."
//
// It is kept character for character, placeholders included (the table
// name waf_logs_partition_projection, the bucket amzn-s3-demo-bucket, the
// account AWS_ACCOUNT_NUMBER, the CloudFront web ACL testui and the range
// start 2025/01/01/00/00), so that a test can compare the columns lockgate
// writes with the ones Athena reads. The partition column log_time
// projects the yyyy/MM/dd/HH/mm folders AWS WAF writes under
// AWSLogs/ACCOUNT/WAFLogs/SOURCE/WEB_ACL/. lockgate analyze sql
// substitutes the table name and location.
const AthenaDDL = "CREATE EXTERNAL TABLE `waf_logs_partition_projection`(\n" +
	"  `timestamp` bigint, \n" +
	"  `formatversion` int, \n" +
	"  `webaclid` string, \n" +
	"  `terminatingruleid` string, \n" +
	"  `terminatingruletype` string, \n" +
	"  `action` string, \n" +
	"  `terminatingrulematchdetails` array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>, \n" +
	"  `httpsourcename` string, \n" +
	"  `httpsourceid` string, \n" +
	"  `rulegrouplist` array<struct<rulegroupid:string,terminatingrule:struct<ruleid:string,action:string,rulematchdetails:array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>>,nonterminatingmatchingrules:array<struct<ruleid:string,action:string,overriddenaction:string,rulematchdetails:array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>,challengeresponse:struct<responsecode:string,solvetimestamp:string>,captcharesponse:struct<responsecode:string,solvetimestamp:string>>>,excludedrules:string>>, \n" +
	"  `ratebasedrulelist` array<struct<ratebasedruleid:string,limitkey:string,maxrateallowed:int>>, \n" +
	"  `nonterminatingmatchingrules` array<struct<ruleid:string,action:string,rulematchdetails:array<struct<conditiontype:string,sensitivitylevel:string,location:string,matcheddata:array<string>>>,challengeresponse:struct<responsecode:string,solvetimestamp:string>,captcharesponse:struct<responsecode:string,solvetimestamp:string>>>, \n" +
	"  `requestheadersinserted` array<struct<name:string,value:string>>, \n" +
	"  `responsecodesent` string, \n" +
	"  `httprequest` struct<clientip:string,country:string,headers:array<struct<name:string,value:string>>,uri:string,args:string,httpversion:string,httpmethod:string,requestid:string,fragment:string,scheme:string,host:string>,\n" +
	"  `labels` array<struct<name:string>>, \n" +
	"  `captcharesponse` struct<responsecode:string,solvetimestamp:string,failurereason:string>, \n" +
	"  `challengeresponse` struct<responsecode:string,solvetimestamp:string,failurereason:string>, \n" +
	"  `ja3fingerprint` string, \n" +
	"  `ja4fingerprint` string, \n" +
	"  `oversizefields` string, \n" +
	"  `requestbodysize` int, \n" +
	"  `requestbodysizeinspectedbywaf` int)\n" +
	"  PARTITIONED BY ( \n" +
	"   `log_time` string)\n" +
	"ROW FORMAT SERDE \n" +
	"  'org.openx.data.jsonserde.JsonSerDe' \n" +
	"STORED AS INPUTFORMAT \n" +
	"  'org.apache.hadoop.mapred.TextInputFormat' \n" +
	"OUTPUTFORMAT \n" +
	"  'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n" +
	"LOCATION\n" +
	"  's3://amzn-s3-demo-bucket/AWSLogs/AWS_ACCOUNT_NUMBER/WAFLogs/cloudfront/testui/'\n" +
	"TBLPROPERTIES (\n" +
	" 'projection.enabled'='true',\n" +
	"  'projection.log_time.format'='yyyy/MM/dd/HH/mm',\n" +
	"  'projection.log_time.interval'='1',\n" +
	"  'projection.log_time.interval.unit'='minutes',\n" +
	"  'projection.log_time.range'='2025/01/01/00/00,NOW',\n" +
	"  'projection.log_time.type'='date',\n" +
	"  'storage.location.template'='s3://amzn-s3-demo-bucket/AWSLogs/AWS_ACCOUNT_NUMBER/WAFLogs/cloudfront/testui/${log_time}')"

// Placeholders in AthenaDDL that lockgate analyze sql replaces.
const (
	AthenaDDLTable    = "waf_logs_partition_projection"
	AthenaDDLLocation = "s3://amzn-s3-demo-bucket/AWSLogs/AWS_ACCOUNT_NUMBER/WAFLogs/cloudfront/testui/"
)
