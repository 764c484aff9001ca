/**
 * Imported by powertools.ts before the Powertools tracer, for its side effect. The X-Ray SDK
 * decides when it loads whether to create its cls-hooked namespace, whose async hook then runs on
 * every promise in the process: on the local API that was a fifth of a text request's time
 * (docs/PERFORMANCE.md, "The X-Ray SDK's async hook"). Outside Lambda nothing is traced (the tracer
 * disables itself there), so the SDK is asked for manual mode, which creates no namespace. In a
 * Lambda function the tracer needs automatic mode, and the variable is left alone.
 */
if (!process.env.AWS_LAMBDA_FUNCTION_NAME) process.env.AWS_XRAY_MANUAL_MODE ??= '1';
