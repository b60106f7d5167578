import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A document client whose calls after the first `allowed` fail, as a process killed at that point. */
export function dyingAfter(doc: DynamoDBDocumentClient, allowed: number): DynamoDBDocumentClient {
  let calls = 0;
  return new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return (command: never) => {
        calls++;
        if (calls > allowed) return Promise.reject(new Error(`killed before call ${calls}`));
        return target.send(command);
      };
    },
  });
}
