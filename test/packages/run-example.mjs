// Runs a compiled README example under Pulumi mocks inside a consumer project, the way a
// user's `pulumi up` would load it: with the consumer's own @pulumi/pulumi and the package as
// npm installed it there. Prints one JSON object: the registered resources, the stack outputs,
// and which of the package's exported component classes the program instantiated.
//
//   node run-example.mjs <commonjs|module> <compiled program> <package name> <config JSON>
//
// The mock behaviour (AWS, GCP and Kubernetes answers) and the recorder come from the CLI's build:
// those modules have no runtime dependency on the SDK, so the consumer's SDK drives them.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [moduleSystem, programPath, packageName, configJson] = process.argv.slice(2);
const fromConsumer = createRequire(resolve('package.json'));
const pulumi = fromConsumer('@pulumi/pulumi');
// Not re-exported by the SDK's index: how the SDK itself drains registrations before exiting.
const settings = fromConsumer('@pulumi/pulumi/runtime/settings.js');

const build = new URL('../../dist/src/', import.meta.url);
const { createMockRecorder, unwrapSecrets } = await import(new URL('plan/mock-recorder.js', build).href);
const { withKubernetesMocks } = await import(new URL('plan/k8s-mocks.js', build).href);
// Each cloud's answers for its package: a resource or function goes to the cloud its type token
// names (each leaves the others' types alone). A package for another cloud brings its mocks here.
const { createAwsMockBehaviour } = await import(new URL('providers/aws/mocks.js', build).href);
const { createGcpMockBehaviour } = await import(new URL('providers/gcp/mocks.js', build).href);
const clouds = {
  aws: createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' }),
  gcp: createGcpMockBehaviour({ project: 'my-project', region: 'europe-west1' }),
};
const cloudOf = (token) => clouds[token.split(':')[0]] ?? clouds.aws;
const cloud = {
  outputs: (args) => cloudOf(args.type).outputs(args),
  call: (args) => cloudOf(args.token).call(args),
  id: (args) => cloudOf(args.type).id(args),
};

const project = 'readme-example';
const { config, secretKeys } = JSON.parse(configJson);
pulumi.runtime.setAllConfig(
  Object.fromEntries(Object.entries(config).map(([key, value]) => [`${project}:${key}`, value])),
  secretKeys.map((key) => `${project}:${key}`),
);
const recorder = createMockRecorder(withKubernetesMocks({ cloud }));
await pulumi.runtime.setMocks(recorder.mocks, project, 'dev', false);

// The package as the consumer resolves it; a CommonJS program's require() of it gets the same
// module instance, so instanceof tells which exported components the program built.
const exported = await import(pathToFileURL(fromConsumer.resolve(packageName)).href);
const componentClasses = Object.entries(exported).filter(
  ([, value]) => typeof value === 'function' && value.prototype instanceof pulumi.ComponentResource,
);
const instantiated = new Set();
const recordComponents = () =>
  pulumi.runtime.registerStackTransformation(({ resource }) => {
    for (const [name, cls] of componentClasses) if (resource instanceof cls) instantiated.add(name);
    return undefined;
  });

// As Pulumi's Node.js host loads a program: require() for CommonJS, import() for a module.
const load = async () => {
  recordComponents(); // needs the stack, which exists only inside runInPulumiStack
  if (moduleSystem === 'commonjs') return fromConsumer(resolve(programPath));
  return import(pathToFileURL(resolve(programPath)).href);
};
const outputs = await Promise.race([pulumi.runtime.runInPulumiStack(load), recorder.failed]);
await Promise.race([settings.waitForRPCs(), recorder.failed]);
if (recorder.firstError()) throw recorder.firstError();

process.stdout.write(
  JSON.stringify({
    resources: recorder.registered.filter((r) => r.type !== 'pulumi:pulumi:Stack'),
    outputs: unwrapSecrets(outputs ?? {}),
    exportedComponents: componentClasses.map(([name]) => name),
    instantiatedComponents: [...instantiated],
  }),
);
