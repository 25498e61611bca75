// Fails when the committed dist/ differs from a fresh build (the Action runs dist/ as committed).
import { execFileSync } from 'node:child_process';

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
const status = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { encoding: 'utf8' });
if (status.trim() !== '') {
  console.error('dist/ is stale: run `npm run build` and commit the result.\n' + status);
  process.exit(1);
}
console.log('dist/ is up to date');
