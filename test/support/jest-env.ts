/**
 * Environment for every test process. The functions deploy on Node 22 (serverless.yml); this
 * machine runs the tests on Node 20, where the AWS SDK warns once per process that its releases
 * after January 2027 need Node 22. The warning says nothing about the code under test, so the
 * tests run without it (the SDK's own switch); `npm start` and the CLI still show it.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
