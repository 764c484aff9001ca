import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { Aws, FileAssetPackaging, Stack, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { type PackedDirectory, packDirectory } from './private/tar.ts';

/** What a model needs to reference its artifacts. */
export interface ModelDataConfig {
  /** s3:// URI of a `model.tar.gz` (SageMaker extracts it to /opt/ml/model). */
  readonly uri: string;
}

/** The identity of a model directory, from its manifest (docs/CONTRACTS.md). */
export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
}

/** Where packed model archives are written, inside the cloud assembly directory. */
export const MODEL_DATA_BUILD_DIR = 'model-data';

export interface ModelDataAssetOptions {
  /**
   * Check that the model file's sha256 matches its manifest (the server refuses a mismatch at
   * startup; failing at synth is minutes cheaper than a failed endpoint deployment).
   * @default true
   */
  readonly verifyChecksum?: boolean;
}

/**
 * Model artifacts for a SageMaker model: an abstract source whose `bind()` grants the model's
 * role read access and returns the URI (the `aws-sagemaker-alpha` ModelData pattern).
 */
export abstract class ModelData {
  /**
   * A model directory (`manifest.json`, the model file, its card) packed into a deterministic
   * `model.tar.gz` at synth time (under `<cdk.out>/model-data/`) and uploaded as a file asset. Fails at once if the manifest or the
   * model file is missing, e.g. when `npm run models` has not been run.
   */
  static fromAsset(directory: string, options: ModelDataAssetOptions = {}): ModelData {
    return new AssetModelData(resolve(directory), options);
  }

  /** A `model.tar.gz` already in S3. */
  static fromBucket(bucket: s3.IBucket, objectKey: string): ModelData {
    return new BucketModelData(bucket, objectKey);
  }

  /** The model's name and version when known at synth time. */
  abstract readonly identity: ModelIdentity | undefined;

  /** Grants `grantable` read access and returns the URI to put in the model definition. */
  abstract bind(scope: Construct, grantable: iam.IGrantable): ModelDataConfig;
}

class BucketModelData extends ModelData {
  readonly identity = undefined;

  constructor(
    private readonly bucket: s3.IBucket,
    private readonly objectKey: string,
  ) {
    super();
    if (!objectKey.endsWith('.tar.gz')) {
      throw new Error(`model data must be a .tar.gz archive, got key ${objectKey}`);
    }
  }

  bind(_scope: Construct, grantable: iam.IGrantable): ModelDataConfig {
    this.bucket.grantRead(grantable, this.objectKey);
    return { uri: this.bucket.s3UrlForObject(this.objectKey) };
  }
}

interface ManifestShape {
  name?: unknown;
  version?: unknown;
  file?: unknown;
  sha256?: unknown;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

class AssetModelData extends ModelData {
  readonly identity: ModelIdentity;
  private packed: PackedDirectory | undefined;

  constructor(
    private readonly directory: string,
    options: ModelDataAssetOptions,
  ) {
    super();
    if (!existsSync(directory) || !statSync(directory).isDirectory()) {
      throw new Error(
        `model directory not found: ${directory}: build the models with \`npm run models\` before \`cdk synth\``,
      );
    }
    const manifestPath = join(directory, 'manifest.json');
    if (!existsSync(manifestPath)) {
      throw new Error(`model directory ${directory} has no manifest.json (see docs/CONTRACTS.md)`);
    }
    let manifest: ManifestShape;
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ManifestShape;
    } catch (cause) {
      throw new Error(`model manifest ${manifestPath} is not valid JSON`, { cause });
    }
    const { name, version, file, sha256 } = manifest;
    if (typeof name !== 'string' || typeof version !== 'string' || typeof file !== 'string') {
      throw new Error(`model manifest ${manifestPath} must have string name, version and file`);
    }
    // The directory name is the endpoint name suffix; a mismatch would deploy the wrong model.
    if (name !== basename(directory)) {
      throw new Error(
        `model manifest ${manifestPath} is named ${name} but its directory is ${basename(directory)}`,
      );
    }
    const modelFile = join(directory, file);
    if (!existsSync(modelFile)) {
      throw new Error(
        `model file ${modelFile} is missing: build the model artifacts with \`npm run models\` before \`cdk synth\``,
      );
    }
    if (options.verifyChecksum ?? true) {
      const actual = sha256File(modelFile);
      if (actual !== sha256) {
        throw new Error(
          `model file ${modelFile} has sha256 ${actual} but its manifest says ${String(sha256)}: rebuild it with \`npm run models\``,
        );
      }
    }
    this.identity = { name, version };
  }

  bind(scope: Construct, grantable: iam.IGrantable): ModelDataConfig {
    this.packed ??= packDirectory(this.directory);
    const stage = Stage.of(scope);
    if (!stage) throw new Error(`model data for ${this.directory} must be bound inside an App`);
    // The build folder is inside the cloud assembly: asset paths are relative to it, and
    // `rm -rf cdk.out` cleans it. The name is content-addressed, so an unchanged model is not rewritten.
    const buildDirectory = join(stage.outdir, MODEL_DATA_BUILD_DIR);
    mkdirSync(buildDirectory, { recursive: true });
    const fileName = `${this.identity.name}-${this.packed.tarSha256}.tar.gz`;
    const archive = join(buildDirectory, fileName);
    if (!existsSync(archive)) writeFileSync(archive, this.packed.gzip);
    const location = Stack.of(scope).synthesizer.addFileAsset({
      fileName: relative(stage.outdir, archive),
      packaging: FileAssetPackaging.FILE,
      // The key is `<sourceHash><extname>`; extname is only `.gz`, so the hash carries the `.tar`
      // and the object lands at `<sha>.tar.gz`, the suffix SageMaker documents for ModelDataUrl.
      // The tar's hash, not the gzip's: zlib builds differ, the tar bytes don't.
      sourceHash: `${this.packed.tarSha256}.tar`,
      displayName: `${this.identity.name} model data`,
    });
    // This one object, not the whole assets bucket.
    iam.Grant.addToPrincipal({
      grantee: grantable,
      actions: ['s3:GetObject'],
      resourceArns: [`arn:${Aws.PARTITION}:s3:::${location.bucketName}/${location.objectKey}`],
    });
    return { uri: location.s3ObjectUrl };
  }
}
