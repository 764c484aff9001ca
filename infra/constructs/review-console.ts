import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import {
  CONSOLE_PATH,
  CONSOLE_VENDOR_DIR,
  CONSOLE_VENDORED_MODULES,
  consoleContentSecurityPolicy,
  vendoredModuleFile,
} from '#shared/contracts/console.ts';
import { TENANT_ATTRIBUTE } from '#shared/contracts/review.ts';
import { arnPatternFinding, GRANT_ACTION_FINDINGS } from './private/nag.ts';
import { keyedBucket } from './private/secure-bucket.ts';

/** The reviewer roles of the review API (issue 14), as Cognito groups. */
export const REVIEWER_GROUPS = {
  reviewer: 'Claims and decides queued items',
  lead: 'Decides, and answers appeals of other reviewers',
} as const;

/**
 * What the console reads beside its index.html (docs/CONSOLE.md): the API on the same origin
 * (`apiBaseUrl` empty), keys for now, and the sign-in settings for the Cognito version.
 */
export const CONSOLE_CONFIG_FILE = 'config.json';

/**
 * `/` and `/review` go to the console; a path ending in `/` is that folder's `index.html`: the S3
 * origin is the bucket's REST endpoint (OAC), which has no index documents.
 */
const INDEX_FUNCTION = `function handler(event) {
  var request = event.request;
  if (request.uri === '/' || request.uri === '${CONSOLE_PATH.slice(0, -1)}') {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '${CONSOLE_PATH}' } } };
  }
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}`;

export interface ReviewConsoleProps {
  /** Where the bucket's S3 server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * The console's static files (`index.html` and what it loads), uploaded under `review/`. Deployed
   * only when the directory exists at synth time; otherwise the hosting is created empty and synth
   * says so. @default none
   */
  readonly contentDirectory?: string;
  /**
   * Where the console's vendored UI modules (preact, preact/hooks, htm) are looked up in
   * node_modules from, to be uploaded under `review/vendor/`. @default the current directory
   */
  readonly modulesRoot?: string;
  /**
   * The review API, served by the distribution under `/v1/*` so the console calls it on its own
   * origin with relative URLs, as it does locally (no CORS). @default no API behaviour
   */
  readonly api?: apigwv2.IHttpApi;
  /** Prefix of the hosted sign-in domain (`<prefix>.auth.<region>.amazoncognito.com`). @default none */
  readonly signInDomainPrefix?: string;
  /** The user pool's deletion protection. @default false */
  readonly deletionProtection?: boolean;
  /** The bucket, its key and the user pool. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The review console's hosting and reviewer sign-in: a private versioned bucket under its own KMS
 * key, served only through a CloudFront distribution with origin access control (HTTPS, security
 * headers), the review API behind the same distribution, and a Cognito user pool (no self sign-up,
 * MFA required, Plus tier threat protection) with a public app client for the hosted sign-in.
 */
export class ReviewConsole extends Construct {
  readonly bucket: s3.Bucket;
  readonly encryptionKey: kms.Key;
  readonly distribution: cloudfront.Distribution;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly signInDomain?: cognito.UserPoolDomain;
  /** Present when the content directory existed at synth time. */
  readonly deployment?: s3deploy.BucketDeployment;
  /**
   * The console's headers (its CSP and the managed security headers); present when the content
   * directory existed at synth time, since the CSP carries the hash of that index.html's import map.
   */
  readonly responseHeadersPolicy?: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: ReviewConsoleProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    ({ bucket: this.bucket, encryptionKey: this.encryptionKey } = keyedBucket(this, {
      keyDescription: 'Review console files',
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'review-console-bucket/',
      // Old builds of the console: kept a month to roll back to.
      noncurrentVersionExpiration: Duration.days(30),
      removalPolicy,
    }));

    const dir = props.contentDirectory;
    const contentExists = dir !== undefined && existsSync(dir);

    // ---- Distribution -------------------------------------------------------------------------
    if (contentExists) {
      const index = join(dir, 'index.html');
      // The page trades the sign-in code for tokens at the hosted UI's /oauth2/token: its origin.
      const csp = consoleContentSecurityPolicy(
        existsSync(index) ? readFileSync(index, 'utf8') : '',
        props.signInDomainPrefix ? [signInOrigin(this, props.signInDomainPrefix)] : [],
      );
      // The managed SECURITY_HEADERS set (its values), plus the CSP the local server sends.
      this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
        comment: 'Review console: its Content-Security-Policy and the managed security headers',
        securityHeadersBehavior: {
          contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
          contentTypeOptions: { override: true },
          frameOptions: { frameOption: cloudfront.HeadersFrameOption.SAMEORIGIN, override: true },
          referrerPolicy: {
            referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
            override: true,
          },
          strictTransportSecurity: { accessControlMaxAge: Duration.days(365), override: true },
          xssProtection: { protection: true, modeBlock: true, override: true },
        },
      });
    }
    const additionalBehaviors: Record<string, cloudfront.BehaviorOptions> = {};
    if (props.api) {
      const stack = Stack.of(this);
      additionalBehaviors['/v1/*'] = {
        origin: new origins.HttpOrigin(`${props.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        // Nothing cached: every answer is per key. With caching disabled, AllViewerExceptHostHeader
        // forwards `Authorization` and `?key=` (API Gateway routes by its own Host).
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      };
    }
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Review console (static files) and the review API',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy:
          this.responseHeadersPolicy ?? cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        functionAssociations: [
          {
            eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
            function: new cloudfront.Function(this, 'IndexFunction', {
              comment: 'Console paths: / to /review/, folders to their index.html',
              code: cloudfront.FunctionCode.fromInline(INDEX_FUNCTION),
              runtime: cloudfront.FunctionRuntime.JS_2_0,
            }),
          },
        ],
      },
      additionalBehaviors,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    const acknowledge = (id: string, reason: string) =>
      Validations.of(this.distribution).acknowledge({ id, reason });
    acknowledge(
      'AwsSolutions-CFR1',
      'Reviewers may work from anywhere; sign-in (Cognito, MFA) and reviewer keys decide who sees anything.',
    );
    acknowledge(
      'AwsSolutions-CFR2',
      'Static console files and an API that refuses requests without a reviewer key; the API stage throttles. A WAF web ACL ($5/month + rules) is left to deployments that want one.',
    );
    acknowledge(
      'AwsSolutions-CFR3',
      'Standard logging needs an ACL-enabled log bucket, which every bucket here refuses (bucket owner enforced). The files are public by design and hold no data; API requests through it are in the API stage access logs.',
    );
    Validations.of(this).acknowledge({
      id: '@aws-cdk/aws-cloudfront-origins:wildcardKeyPolicyForOac',
      reason:
        "The bucket key lets CloudFront decrypt for this account's distributions (distribution/*): naming this one would be a cycle (key, bucket, distribution). Scoping it needs a second deploy (docs/DEPLOY.md, Review).",
    });
    acknowledge(
      'AwsSolutions-CFR4',
      'No custom domain: the default *.cloudfront.net certificate cannot set a minimum TLS version. A deployment with its own domain and certificate sets TLSv1.2_2021.',
    );

    // ---- Reviewer sign-in ---------------------------------------------------------------------
    const consoleUrl = `https://${this.distribution.distributionDomainName}${CONSOLE_PATH}`;
    this.userPool = new cognito.UserPool(this, 'Reviewers', {
      // Reviewers are invited by an operator (admin-create-user), never self-registered.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      // Reviewers see abusive content and decide what is published: a second factor, always. TOTP
      // only: no SMS role or SMS spend.
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Plus tier threat protection (compromised credentials, risky sign-ins) enforced: a few
      // reviewers' monthly active users cost cents.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      // The reviewer's tenant (shared/api/cognito.ts): set by the operator who invites them, fixed
      // afterwards, and not writable through the console's app client (below).
      customAttributes: {
        [TENANT_ATTRIBUTE]: new cognito.StringAttribute({ minLen: 1, maxLen: 63, mutable: false }),
      },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
    });
    for (const [groupName, description] of Object.entries(REVIEWER_GROUPS)) {
      this.userPool.addGroup(`${groupName[0]!.toUpperCase()}${groupName.slice(1)}Group`, {
        groupName,
        description,
      });
    }
    this.userPoolClient = this.userPool.addClient('ConsoleClient', {
      // A browser app: a public client (PKCE), no secret.
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [consoleUrl],
        logoutUrls: [consoleUrl],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      // The ID token carries the tenant; a reviewer may change their name, never their tenant.
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
        .withCustomAttributes(TENANT_ATTRIBUTE),
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ fullname: true }),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    if (props.signInDomainPrefix) {
      this.signInDomain = this.userPool.addDomain('SignInDomain', {
        cognitoDomain: { domainPrefix: props.signInDomainPrefix },
      });
    }

    // ---- Files --------------------------------------------------------------------------------
    if (contentExists) {
      const modulesRoot = props.modulesRoot ?? process.cwd();
      // The modules the import map names, from node_modules: small text files, one object each.
      const vendored = Object.keys(CONSOLE_VENDORED_MODULES).map((name) =>
        s3deploy.Source.data(
          `${CONSOLE_VENDOR_DIR}${name}`,
          readFileSync(vendoredModuleFile(name, modulesRoot), 'utf8'),
        ),
      );
      this.deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
        sources: [
          s3deploy.Source.asset(dir, { exclude: ['node_modules', '**/*.test.*', '**/.*'] }),
          ...vendored,
          s3deploy.Source.jsonData(CONSOLE_CONFIG_FILE, {
            apiBaseUrl: '',
            // The hosted sign-in when the pool has a domain; the reviewer-key form otherwise.
            auth: this.signInDomain ? 'cognito' : 'key',
            cognito: {
              region: Stack.of(this).region,
              userPoolId: this.userPool.userPoolId,
              userPoolClientId: this.userPoolClient.userPoolClientId,
              signInUrl: this.signInDomain?.baseUrl() ?? null,
              redirectUrl: consoleUrl,
              scopes: ['openid', 'email', 'profile'],
            },
          }),
        ],
        destinationBucket: this.bucket,
        destinationKeyPrefix: CONSOLE_PATH.slice(1),
        // Revalidated on every load (CloudFront keeps them for its 1 s minimum), so a deploy shows
        // at once without an invalidation, whose permission cannot be scoped to one distribution.
        cacheControl: [s3deploy.CacheControl.noCache()],
        memoryLimit: 512,
      });
      this.acknowledgeDeploymentFindings(this.deployment);
    } else {
      Annotations.of(this).addInfo(
        `review console files not deployed: ${dir ?? 'no content directory'} does not exist at synth time; the bucket and distribution are created empty`,
      );
    }
  }

  /** `https://<id>.cloudfront.net/review/`. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}${CONSOLE_PATH}`;
  }

  /**
   * BucketDeployment's own function (a singleton in the stack, written by aws-cdk-lib): its role
   * copies the asset zip from the CDK assets bucket into this bucket and prunes what the new build
   * no longer has. Each of its wildcards is acknowledged by name; one this list does not expect (a
   * new aws-cdk-lib) fails synth rather than passing unread.
   */
  private acknowledgeDeploymentFindings(deployment: s3deploy.BucketDeployment): void {
    const role = deployment.handlerRole;
    const fn = role.node.scope;
    if (fn) {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          "BucketDeployment's function: its Python runtime is chosen by aws-cdk-lib with the handler it ships.",
      });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "BucketDeployment's function role, made by aws-cdk-lib: AWSLambdaBasicExecutionRole writes its own logs only.",
    });
    const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    if (!policy) throw new Error(`bucket deployment role ${role.node.path} has no default policy`);
    const known: Record<string, string> = {
      'Action::s3:GetObject*': 'Reads the asset zip (GetObject and its variants) from the CDK assets bucket.',
      'Action::s3:GetBucket*': 'Bucket metadata of the assets bucket and the console bucket.',
      'Action::s3:List*': 'Lists the console bucket to prune files the new build no longer has.',
      'Action::s3:DeleteObject*': 'Prunes files the new build no longer has, in the console bucket only.',
      'Action::s3:Abort*': 'Aborts its own multipart uploads into the console bucket.',
      ...Object.fromEntries(GRANT_ACTION_FINDINGS.kms),
      [arnPatternFinding(this.bucket, '*') ?? '']:
        'A deploy replaces the whole console build: every key of this one bucket.',
    };
    const doc = Stack.of(this).resolve(policy.document) as {
      Statement: { Action: string | string[]; Resource: unknown }[];
    };
    const findings = new Set<string>();
    for (const statement of doc.Statement) {
      for (const action of [statement.Action].flat())
        if (action.includes('*')) findings.add(`Action::${action}`);
      for (const resource of [statement.Resource].flat()) {
        const rendered = nagString(resource);
        if (rendered.includes('*')) findings.add(`Resource::${rendered}`);
      }
    }
    for (const finding of findings) {
      const reason =
        known[finding] ??
        (/^Resource::arn:[^:]+:s3:::cdk-[a-z0-9]+-assets-.*\/\*$/.test(finding)
          ? "The CDK assets bucket's objects: the console build is uploaded there by cdk deploy, under a content hash."
          : undefined);
      if (!reason) throw new Error(`bucket deployment role has an unexpected wildcard: ${finding}`);
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}

/** The hosted UI's origin (`https://<prefix>.auth.<region>.amazoncognito.com`), as `baseUrl()` builds it. */
function signInOrigin(scope: Construct, prefix: string): string {
  const stack = Stack.of(scope);
  return `https://${prefix}.auth.${stack.region}.amazoncognito.com`;
}

/**
 * A resolved resource as cdk-nag writes it in a finding: `Ref` as `<Name>`, `Fn::GetAtt` as
 * `<LogicalId.Attribute>`, `Fn::Sub` variables as `<Name>`, `Fn::Join` joined.
 */
function nagString(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'].replace(/\$\{([^}]+)\}/g, '<$1>');
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(nagString).join(separator);
  }
  return JSON.stringify(value);
}
