import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, type DockerImageAssetOptions, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** What a model needs to reference its inference image. */
export interface ContainerImageConfig {
  readonly imageName: string;
}

/**
 * The inference container of a SageMaker model: an abstract source whose `bind()` grants the
 * model's role pull access (the `aws-sagemaker-alpha` ContainerImage pattern).
 */
export abstract class ContainerImage {
  /**
   * An image built from a Dockerfile at deploy time and pushed to the CDK assets repository.
   * Synth only fingerprints the build context; Docker is needed by `cdk deploy`, not `cdk synth`.
   * Without an explicit `exclude`, the BuildKit ignore file beside the Dockerfile
   * (`<Dockerfile>.dockerignore`) is used, so CDK hashes and stages the same context Docker sees.
   */
  static fromAsset(directory: string, options: DockerImageAssetOptions = {}): ContainerImage {
    return new AssetImage(resolve(directory), options);
  }

  /** An image already in ECR. */
  static fromEcrRepository(repository: ecr.IRepository, tag = 'latest'): ContainerImage {
    return new EcrImage(repository, tag);
  }

  /**
   * Grants `grantable` pull access. grantPull's `ecr:GetAuthorizationToken` is on `*`: bind to a
   * `PipelineRole`, which keeps it in the one policy where that finding is acknowledged.
   */
  abstract bind(scope: Construct, grantable: iam.IGrantable): ContainerImageConfig;
}

class EcrImage extends ContainerImage {
  constructor(
    private readonly repository: ecr.IRepository,
    private readonly tag: string,
  ) {
    super();
  }

  bind(_scope: Construct, grantable: iam.IGrantable): ContainerImageConfig {
    this.repository.grantPull(grantable);
    return { imageName: this.repository.repositoryUriForTag(this.tag) };
  }
}

class AssetImage extends ContainerImage {
  private readonly exclude: string[] | undefined;

  constructor(
    private readonly directory: string,
    private readonly options: DockerImageAssetOptions,
  ) {
    super();
    const dockerfile = join(directory, options.file ?? 'Dockerfile');
    if (!existsSync(dockerfile)) {
      throw new Error(`inference image Dockerfile not found: ${dockerfile}`);
    }
    this.exclude = options.exclude ?? dockerIgnorePatterns(dockerfile);
  }

  bind(scope: Construct, grantable: iam.IGrantable): ContainerImageConfig {
    const asset = new DockerImageAsset(scope, 'ModelImage', {
      directory: this.directory,
      // SageMaker hosting instances (GPU included) are x86_64.
      platform: Platform.LINUX_AMD64,
      ignoreMode: IgnoreMode.DOCKER,
      ...this.options,
      exclude: this.exclude,
    });
    asset.repository.grantPull(grantable);
    return { imageName: asset.imageUri };
  }
}

/**
 * The patterns of the BuildKit ignore file beside a Dockerfile (`<Dockerfile>.dockerignore`; comments
 * and blank lines dropped), if it exists: what CDK must hash and stage so it matches what Docker sees.
 */
export function dockerIgnorePatterns(dockerfile: string): string[] | undefined {
  const path = `${dockerfile}.dockerignore`;
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
