import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, IgnoreMode, RemovalPolicy, type Size, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dockerIgnorePatterns } from './container-image.ts';
import { PipelineRole } from './private/pipeline-role.ts';

/** The Lambda runtime every function of the pipeline uses (ARCHITECTURE.md: Node 22). */
export const PIPELINE_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * Lets bundled ESM code `require()` CommonJS modules (esbuild's `__require` shim looks up a free
 * `require`). A global rather than `const require`: bundled modules may declare their own top-level
 * `require` (shared/extract/ocr.ts does), which a banner `const` would collide with.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __pipelineCreateRequire } from 'node:module'; globalThis.require ??= __pipelineCreateRequire(import.meta.url);";

/**
 * onnxruntime-node ships binaries for every platform (≈ 290 MB, over Lambda's 250 MB limit); the
 * function keeps only its own. It runs small CPU models in the function (voice activity), while
 * the encoders stay on SageMaker.
 */
function pruneOtherPlatforms(outputDir: string, cpu: 'arm64' | 'x64'): string[] {
  const bin = `${outputDir}/node_modules/onnxruntime-node/bin/napi-v6`;
  const otherCpu = cpu === 'arm64' ? 'x64' : 'arm64';
  return [`rm -rf "${bin}/darwin" "${bin}/win32" "${bin}/linux/${otherCpu}"`];
}

export interface PipelineFunctionProps {
  /** The handler module (exports `handler`); a container image's Dockerfile bundles its own. */
  readonly entry: string;
  /** Repository root: package.json and package-lock.json (the native modules' versions) live there. */
  readonly projectRoot: string;
  readonly description?: string;
  /**
   * Lambda architecture; native modules are installed for it whatever the build machine is.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default 1 minute */
  readonly timeout?: Duration;
  /** @default none */
  readonly environment?: Record<string, string>;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Packages installed next to the bundle (from the lockfile, for the target platform) instead of
   * bundled: native binaries (sharp) and packages that load files by path (tesseract.js workers,
   * wasm and language data). Only those in package.json's dependencies are used.
   * @default none
   */
  readonly nodeModules?: readonly string[];
  /** @default RemovalPolicy.DESTROY (the log group) */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Deploy as a Lambda container image built from this Dockerfile (relative to `projectRoot`, the
   * build context, filtered by `<Dockerfile>.dockerignore`) instead of a zip: for code that needs
   * binaries a zip cannot carry (ffmpeg, PocketSphinx: functions/media/Dockerfile). The Dockerfile
   * then bundles `entry` itself and installs `nodeModules`; synth only fingerprints the context.
   * @default a zip bundled here with esbuild
   */
  readonly dockerfile?: string;
  /** /tmp size (temporary media and frames). @default 512 MiB */
  readonly ephemeralStorageSize?: Size;
}

/**
 * A function of the pipeline: Node 22 ESM bundled locally with esbuild (no Docker), or a container
 * image from a Dockerfile (`dockerfile`); either way its own role (no managed policies) and log group
 * with retention, X-Ray tracing and JSON logs.
 */
export class PipelineFunction extends Construct {
  /** A NodejsFunction (zip), or a DockerImageFunction when `dockerfile` is given. */
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    // X-Ray's statement on `*` goes to a policy of its own, acknowledged there only (private/pipeline-role.ts).
    this.role = new PipelineRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this log group only.
    this.logGroup.grant(this.role, 'logs:CreateLogStream', 'logs:PutLogEvents');

    const common = {
      description: props.description,
      architecture,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(1),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      ephemeralStorageSize: props.ephemeralStorageSize,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    } satisfies lambda.FunctionOptions;
    this.function = props.dockerfile
      ? new lambda.DockerImageFunction(this, 'Function', {
          ...common,
          code: imageCode(props.projectRoot, props.dockerfile, architecture),
        })
      : zipFunction(this, props, architecture, common);

    // A container image has no managed runtime for L1 to judge; its Dockerfile pins Node 22.
    if (!props.dockerfile) {
      Validations.of(this.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the runtime the whole project targets (ARCHITECTURE.md); the local mode and tests run the same code on Node 22.',
      });
    }
  }

  /** Adds an environment variable. */
  addEnvironment(key: string, value: string): this {
    this.function.addEnvironment(key, value);
    return this;
  }

  /** Errors thrown by the function. @default sum over 5 minutes */
  metricErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), ...props });
  }

  /** Throttled invocations (reserved concurrency reached). @default sum over 5 minutes */
  metricThrottles(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricThrottles({ period: Duration.minutes(5), ...props });
  }

  /** @default p99 over 5 minutes */
  metricDuration(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricDuration({ statistic: 'p99', period: Duration.minutes(5), ...props });
  }
}

/** The image of a container function: built for the function's architecture at deploy time. */
function imageCode(
  projectRoot: string,
  dockerfile: string,
  architecture: lambda.Architecture,
): lambda.DockerImageCode {
  const path = join(projectRoot, dockerfile);
  if (!existsSync(path)) throw new Error(`function image Dockerfile not found: ${path}`);
  return lambda.DockerImageCode.fromImageAsset(projectRoot, {
    file: dockerfile,
    platform: architecture === lambda.Architecture.ARM_64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
    ignoreMode: IgnoreMode.DOCKER,
    exclude: dockerIgnorePatterns(path),
  });
}

/** A zip function: Node 22 ESM bundled here with esbuild, native modules installed beside it. */
function zipFunction(
  scope: Construct,
  props: PipelineFunctionProps,
  architecture: lambda.Architecture,
  common: lambda.FunctionOptions,
): nodejs.NodejsFunction {
  const nodeModules = dependenciesOf(props.projectRoot, props.nodeModules ?? []);
  const npmCpu = architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
  return new nodejs.NodejsFunction(scope, 'Function', {
    ...common,
    entry: props.entry,
    handler: 'handler',
    projectRoot: props.projectRoot,
    depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
    runtime: PIPELINE_RUNTIME,
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      // The SDK versions we test with, not whichever the runtime ships.
      bundleAwsSDK: true,
      nodeModules: nodeModules.length > 0 ? nodeModules : undefined,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_input, output) =>
          nodeModules.includes('onnxruntime-node') ? pruneOtherPlatforms(output, npmCpu) : [],
      },
      forceDockerBundling: false,
      // `npm ci` of the native modules runs with these: it picks the optional platform packages
      // (@img/sharp-linux-arm64, …) for Lambda, not for the machine that runs `cdk synth`.
      environment:
        nodeModules.length > 0
          ? {
              npm_config_os: 'linux',
              npm_config_cpu: npmCpu,
              npm_config_libc: 'glibc',
              // onnxruntime-node's install step would fetch CUDA providers from outside npm.
              ONNXRUNTIME_NODE_INSTALL: 'skip',
            }
          : {},
    },
  });
}

/** The requested packages that package.json depends on (asking for others fails the bundling). */
function dependenciesOf(projectRoot: string, requested: readonly string[]): string[] {
  const pkgPath = join(projectRoot, 'package.json');
  if (!existsSync(pkgPath)) throw new Error(`no package.json in project root ${projectRoot}`);
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { dependencies?: Record<string, string> };
  return requested.filter((name) => pkg.dependencies?.[name] !== undefined);
}
