/** The sample deployment script Prefect's provisioners print after provisioning (the lines of "next steps"). */
export function deploySample(pool: string, image: string, runningOn: string): string[] {
  return [
    "    from prefect import flow",
    "    from prefect.docker import DockerImage",
    "",
    "",
    "    @flow(log_prints=True)",
    '    def my_flow(name: str = "world"):',
    `        print(f"Hello {name}! I'm a flow running ${runningOn}!")`,
    "",
    "",
    '    if __name__ == "__main__":',
    "        my_flow.deploy(",
    '            name="my-deployment",',
    // A Python string literal: JSON's escapes are valid in Python.
    `            work_pool_name=${JSON.stringify(pool)},`,
    "            image=DockerImage(",
    `                name=${JSON.stringify(`${image}:latest`)},`,
    '                platform="linux/amd64",',
    "            ),",
    "        )",
  ];
}
