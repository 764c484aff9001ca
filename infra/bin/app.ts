#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth -c env=dev` (cdk.json runs this with tsx). Which environment, and
 * everything that differs between environments, comes from cdk.json's `moderation:environments`.
 * `-c modelsDirectory=<dir>` points at model directories built elsewhere (default
 * model-artifacts/models, filled by `npm run models`); `-c consoleDirectory=<dir>` at the review
 * console's files (default console/, deployed only if it exists).
 */
import { App } from 'aws-cdk-lib';
import { addPipeline } from '#infra/app.ts';

const app = new App();
const modelsDirectory = app.node.tryGetContext('modelsDirectory') as string | undefined;
const consoleDirectory = app.node.tryGetContext('consoleDirectory') as string | undefined;
addPipeline(app, { modelsDirectory, consoleDirectory });
app.synth();
