// Fails CI when vitest ran no test, or skipped or left any test as todo; prints the closing line.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'test-results/vitest.json', 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
const failedSuites = report.testResults.filter((suite) => suite.status !== 'passed');
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numTotalTests === 0) {
  console.error('ci: no test ran');
  process.exit(1);
}
if (skipped > 0 || report.numFailedTests > 0 || failedSuites.length > 0) {
  for (const suite of failedSuites) console.error(`ci: suite not passed: ${suite.name} (${suite.status})`);
  if (skipped > 0) console.error('ci: skipped or todo tests are not allowed');
  process.exit(1);
}
