/** Turns an IAM ARN template (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`) into a matcher. */
export function arnTemplateMatcher(template: string): RegExp {
  const pattern = template
    .split(/(\$\{[A-Za-z]+\})/)
    .map((part) => {
      switch (part) {
        case '${Partition}':
          return 'aws[a-z-]*';
        case '${Region}':
          return '[a-z]{2}(-[a-z]+)+-\\d';
        case '${Account}':
          return '\\d{12}';
        default:
          if (!part.startsWith('${')) return part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
          // Paths and object keys may hold "/"; every other name is one segment.
          return /Path|ObjectName|Key/.test(part) ? '[^*?\\s]+' : '[^/:*?\\s]+';
      }
    })
    .join('');
  return new RegExp(`^${pattern}$`);
}
